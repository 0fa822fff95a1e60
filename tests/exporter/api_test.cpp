// The page API (/api/devices, /api/cooks, /api/cooks/{uuid}/series) through
// a real HttpServer on a real port, over a database written by the real
// ReadingWriter, read back with libcurl and parsed with simdjson.
#include <simdjson.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <regex>
#include <set>

#include "api_test_support.hpp"
#include "exporter_test_support.hpp"
#include "thermomaven/core/time.hpp"
#include "thermomaven/exporter/http_server.hpp"
#include "thermomaven/storage/reading_writer.hpp"

using namespace thermomaven;
using exporter_test::http_request;

namespace {

const std::string kHostileName = "<img src=x onerror=alert(1)> \"quoted\" \\ back\nline\x01";
const std::string kHostileNote = "</script><b>\"x\"</b>\t\xC3\xA9";
constexpr int kReadings = 3000;  // dev1's cook: one report every 2 s
constexpr int kSpikeAt = 1500;   // ... with one reading 30 °F above the rest
constexpr std::int64_t kDayMs = 86'400'000;

struct Served {
  exporter_test::TempDir dir;
  std::string db = dir / "api.db";
  std::vector<std::int64_t> dev1_times;
  std::vector<std::int32_t> dev1_food;
  std::unique_ptr<exporter::HttpServer> server;

  Served() {
    {
      storage::Database database(db);
      storage::ReadingWriter writer(database);
      writer.write(DeviceInfo{"dev1", kHostileName, "WT09", "SN1", {}});
      for (int i = 0; i < kReadings; ++i) {
        const std::int64_t at = api_test::kStartMs + i * 2000LL;
        StatusReport r = api_test::heating_report("dev1", 1, at, i * 2.0);
        ProbeSample& p = r.probes[0];
        if (i == kSpikeAt) *p.temperature += 300;
        p.notes = kHostileNote;
        p.has_notes = true;
        dev1_times.push_back(at);
        dev1_food.push_back(*p.temperature);
        writer.write(r);
      }
      // dev2 records in °C: three short cooks on three days.
      const std::pair<const char*, std::int64_t> cooks[] = {
          {"d2a", api_test::kStartMs - 2 * kDayMs},
          {"d2b", api_test::kStartMs - kDayMs},
          {"d2c", api_test::kStartMs + 2 * 3600'000}};
      for (const auto& [uuid, start] : cooks) {
        for (int i = 0; i < 5; ++i) {
          StatusReport r = api_test::heating_report("dev2", 1, start + i * 2000, i * 2.0,
                                                    TemperatureUnit::Celsius);
          r.probes[0].cook_uuid = uuid;
          r.probes[0].temperature = 215 + i;  // 21.5 °C ...
          r.probes[0].zones[4] = std::nullopt;
          writer.write(r);
        }
      }
      writer.write_account_unit(TemperatureUnit::Celsius, api_test::kStartMs);
      CollectorStatus status;
      status.updated_ms = api_test::kStartMs;
      status.state = "connected";
      status.mqtt_connected = true;
      writer.write(status);
      writer.commit();
    }
    server = api_test::start_server(db);
  }
  std::string url(const std::string& path) const { return server->url() + path; }
};

Served& shared() {
  static Served served;
  return served;
}

// GET path, checked for the API's status and headers, parsed.
simdjson::dom::element get_json(simdjson::dom::parser& parser, const std::string& path,
                                long status = 200) {
  const auto r = http_request(shared().url(path));
  INFO(path << " -> " << r.status << " " << r.body.substr(0, 300));
  REQUIRE(r.status == status);
  CHECK(r.header("content-type") == "application/json");
  CHECK(r.header("x-content-type-options") == "nosniff");
  CHECK(r.header("cache-control") == "no-store");
  simdjson::dom::element doc;
  REQUIRE(parser.parse(r.body).get(doc) == simdjson::SUCCESS);
  return doc;
}

std::string text(simdjson::dom::element e) { return std::string(std::string_view(e)); }

std::vector<std::string> uuids(simdjson::dom::element array) {
  std::vector<std::string> ids;
  for (auto cook : array.get_array()) ids.push_back(text(cook["cook_uuid"]));
  return ids;
}

// An error answer: status, JSON {"error": ...} naming `what`.
void expect_error(const std::string& path, long status, const std::string& what) {
  simdjson::dom::parser parser;
  const auto doc = get_json(parser, path, status);
  INFO(path);
  CHECK(text(doc["error"]).find(what) != std::string::npos);
}

}  // namespace

TEST_CASE("/api/devices: latest state in °C, account unit, health and forecast") {
  simdjson::dom::parser parser;
  const auto doc = get_json(parser, "/api/devices");
  CHECK(text(doc["unit"]) == "C");
  CHECK(bool(doc["logger"]["broker_connected"]));
  CHECK(text(doc["logger"]["collector"]["state"]) == "connected");
  CHECK(bool(doc["logger"]["collector"]["running"]));
  const auto devices = doc["devices"].get_array();
  REQUIRE(devices.size() == 2);
  const auto dev1 = devices.at(0);
  CHECK(text(dev1["device_id"]) == "dev1");
  CHECK(text(dev1["name"]) == kHostileName);  // escaped in JSON, intact once parsed
  CHECK(bool(dev1["up"]));
  CHECK_FALSE(bool(dev1["stale"]));
  CHECK(int64_t(dev1["last_report_ms"]) == shared().dev1_times.back());
  const auto probe = dev1["probes"].at(0);
  CHECK(int64_t(probe["probe"]) == 1);
  CHECK(double(probe["food_c"]) ==
        to_celsius(shared().dev1_food.back(), TemperatureUnit::Fahrenheit));
  CHECK(double(probe["zones_c"].at(4)) ==
        to_celsius(shared().dev1_food.back() + 150, TemperatureUnit::Fahrenheit));
  CHECK(double(probe["target_c"]) == to_celsius(1650, TemperatureUnit::Fahrenheit));
  CHECK(int64_t(probe["device_remaining_s"]) == 7000 - (kReadings - 1));
  CHECK(text(probe["cook"]["notes"]) == kHostileNote);
  CHECK(text(probe["cook"]["cook_uuid"]) == "dev1c1");
  const auto forecast = probe["forecast"];
  CHECK(text(forecast["state"]) == "estimating");
  CHECK(int64_t(forecast["predicted_done_ms"]) > shared().dev1_times.back());
  CHECK(double(forecast["confidence"]) >= 0.0);
  CHECK_FALSE(bool(forecast["stalled"]));
  // dev2 in °C: the values as recorded, a missing zone as null.
  const auto dev2_probe = devices.at(1)["probes"].at(0);
  CHECK(double(dev2_probe["food_c"]) == 21.9);
  CHECK(dev2_probe["zones_c"].at(4).is_null());
  // Parameters are refused.
  expect_error("/api/devices?x=1", 400, "no parameters");
}

TEST_CASE("/api/devices has the staleness of /metrics") {
  exporter_test::TempDir dir;
  exporter::ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.stale_after_s = 60;  // the fixture's reports are from 2026-11-27
  exporter::HttpServer server(shared().db, options);
  server.start();
  const auto r = http_request(server.url() + "/api/devices");
  REQUIRE(r.status == 200);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  REQUIRE(parser.parse(r.body).get(doc) == simdjson::SUCCESS);
  const auto dev1 = doc["devices"].at(0);
  const bool in_future = api_test::kStartMs > thermomaven::now_ms();
  if (!in_future) {
    CHECK(bool(dev1["stale"]));
    CHECK_FALSE(bool(dev1["up"]));
    CHECK(dev1["probes"].get_array().size() == 0);
    CHECK(dev1["battery_pct"].is_null());
    const auto metrics = http_request(server.url() + "/metrics").body;
    CHECK(metrics.find("thermomaven_device_up{device_id=\"dev1\"") != std::string::npos);
    CHECK(metrics.find("thermomaven_probe_temperature_celsius") == std::string::npos);
  } else {
    CHECK_FALSE(bool(dev1["stale"]));
  }
}

TEST_CASE("/api/cooks: the fields of `cooks --json`, filtered, limited and paged") {
  simdjson::dom::parser parser;
  const auto all = http_request(shared().url("/api/cooks"));
  REQUIRE(all.status == 200);
  // The same writer as /cooks and `thermomaven cooks --json`.
  CHECK(all.body == http_request(shared().url("/cooks")).body);
  CHECK(uuids(get_json(parser, "/api/cooks")) ==
        std::vector<std::string>{"d2c", "dev1c1", "d2b", "d2a"});
  CHECK(uuids(get_json(parser, "/api/cooks?device=dev2")) ==
        std::vector<std::string>{"d2c", "d2b", "d2a"});
  CHECK(uuids(get_json(parser, "/api/cooks?device=nobody")).empty());
  // from and to on the start time; a date covers its whole day.
  CHECK(uuids(get_json(parser, "/api/cooks?from=2026-11-27")) ==
        std::vector<std::string>{"d2c", "dev1c1"});
  CHECK(uuids(get_json(parser, "/api/cooks?to=2026-11-26")) ==
        std::vector<std::string>{"d2b", "d2a"});
  CHECK(uuids(get_json(parser, "/api/cooks?from=2026-11-26T10:00:00Z&to=2026-11-27T10:00:00Z")) ==
        std::vector<std::string>{"dev1c1", "d2b"});
  CHECK(uuids(get_json(parser, "/api/cooks?from=2026-11-26T10:00:00.001Z&to=2026-11-27T09:59:59Z"))
            .empty());
  CHECK(uuids(get_json(parser, "/api/cooks?device=dev2&from=2026-11-26&to=2026-11-27")) ==
        std::vector<std::string>{"d2c", "d2b"});
  // limit and before page through the listing.
  CHECK(uuids(get_json(parser, "/api/cooks?limit=2")) == std::vector<std::string>{"d2c", "dev1c1"});
  CHECK(uuids(get_json(parser, "/api/cooks?limit=2&before=dev1c1")) ==
        std::vector<std::string>{"d2b", "d2a"});
  CHECK(uuids(get_json(parser, "/api/cooks?before=d2a")).empty());
  CHECK(uuids(get_json(parser, "/api/cooks?limit=500&device=dev2&before=d2c")) ==
        std::vector<std::string>{"d2b", "d2a"});
  const auto cook = get_json(parser, "/api/cooks?limit=1&before=d2c").at(0);
  CHECK(text(cook["device_name"]) == kHostileName);
  CHECK(text(cook["notes"]) == kHostileNote);
  CHECK(text(cook["unit"]) == "F");
  expect_error("/api/cooks?before=nosuchcook", 404, "before");
  for (const std::string bad : {"limit=0", "limit=501", "limit=abc", "limit=", "limit=-1"})
    expect_error("/api/cooks?" + bad, 400, "limit");
  for (const std::string bad : {"from=2026-13-01", "from=2026-02-30", "from=yesterday",
                                "from=2026-11-27T10:00:00", "from=2026-11-27T25:00:00Z", "from="})
    expect_error("/api/cooks?" + bad, 400, "from");
  expect_error("/api/cooks?to=27.11.2026", 400, "to");
  expect_error("/api/cooks?device=", 400, "device");
  expect_error("/api/cooks?before=", 400, "before");
  expect_error("/api/cooks?limit=1&limit=2", 400, "limit");
  expect_error("/api/cooks?colour=red", 400, "colour");
  expect_error("/api/cooks?device=%zz", 400, "device");
}

TEST_CASE("/api/cooks/{uuid}/series: every reading of a short cook, in its own unit") {
  simdjson::dom::parser parser;
  const auto doc = get_json(parser, "/api/cooks/d2b/series");
  CHECK(text(doc["cook_uuid"]) == "d2b");
  CHECK(text(doc["unit"]) == "C");
  std::size_t keys = 0;
  for (auto field : doc.get_object()) {
    (void)field;
    ++keys;
  }
  CHECK(keys == 4);  // cook_uuid, unit, points, forecast: the documented shape
  const auto points = doc["points"].get_array();
  REQUIRE(points.size() == 5);
  for (std::size_t i = 0; i < 5; ++i) {
    const auto row = points.at(i).get_array();
    REQUIRE(row.size() == 9);
    CHECK(int64_t(row.at(0)) == api_test::kStartMs - kDayMs + static_cast<std::int64_t>(i) * 2000);
    CHECK(double(row.at(1)) == Approx(21.5 + 0.1 * static_cast<double>(i)));
    CHECK(row.at(6).is_null());         // t5 absent
    CHECK(double(row.at(8)) == 165.0);  // the target as recorded (tenths 1650)
  }
  CHECK(doc["forecast"].get_array().size() == 0);  // too short to estimate
  // In °F: exact from the tenths, to 0.1.
  const auto f = get_json(parser, "/api/cooks/d2b/series?unit=F");
  CHECK(text(f["unit"]) == "F");
  CHECK(double(f["points"].at(0).at(1)) == 70.7);   // 21.5 °C
  CHECK(double(f["points"].at(0).at(8)) == 329.0);  // 165.0 °C
  CHECK(text(get_json(parser, "/api/cooks/d2b/series?unit=c")["unit"]) == "C");
}

TEST_CASE("/api/cooks/{uuid}/series: downsampling keeps each bucket's lowest and highest food") {
  const Served& s = shared();
  for (const int max_points : {2, 3, 100, 999, 2000, 2999, 3000, 5000}) {
    simdjson::dom::parser parser;
    const auto doc =
        get_json(parser, "/api/cooks/dev1c1/series?max_points=" + std::to_string(max_points));
    INFO("max_points " << max_points);
    CHECK(text(doc["unit"]) == "F");
    const auto points = doc["points"].get_array();
    if (max_points >= kReadings) {
      CHECK(points.size() == kReadings);
    } else {
      CHECK(points.size() <= static_cast<std::size_t>(max_points));
      CHECK(points.size() >= static_cast<std::size_t>(max_points / 2));
    }
    // Every row a real reading, in time order.
    std::map<std::int64_t, double> returned;
    std::int64_t previous = 0;
    for (auto row : points) {
      const std::int64_t t = row.at(0);
      CHECK(t > previous);
      previous = t;
      const auto at = std::lower_bound(s.dev1_times.begin(), s.dev1_times.end(), t);
      REQUIRE(at != s.dev1_times.end());
      REQUIRE(*at == t);
      const auto i = static_cast<std::size_t>(at - s.dev1_times.begin());
      CHECK(double(row.at(1)) == Approx(s.dev1_food[i] / 10.0));
      returned[t] = double(row.at(1));
    }
    // The spike (the highest of its bucket once buckets are a few minutes
    // long), and each bucket's extremes, survive.
    if (max_points >= 100) CHECK(returned.count(s.dev1_times[kSpikeAt]) == 1);
    if (max_points < kReadings) {
      const std::int64_t buckets = max_points / 2;
      const std::int64_t span = s.dev1_times.back() - s.dev1_times.front() + 1;
      std::map<std::int64_t, std::pair<std::int32_t, std::int32_t>> extremes;
      for (std::size_t i = 0; i < s.dev1_times.size(); ++i) {
        const auto b = (s.dev1_times[i] - s.dev1_times.front()) * buckets / span;
        auto [it, fresh] = extremes.try_emplace(b, s.dev1_food[i], s.dev1_food[i]);
        it->second.first = std::min(it->second.first, s.dev1_food[i]);
        it->second.second = std::max(it->second.second, s.dev1_food[i]);
      }
      std::map<std::int64_t, std::pair<double, double>> seen;
      for (const auto& [t, food] : returned) {
        const auto b = (t - s.dev1_times.front()) * buckets / span;
        auto [it, fresh] = seen.try_emplace(b, food, food);
        it->second.first = std::min(it->second.first, food);
        it->second.second = std::max(it->second.second, food);
      }
      REQUIRE(seen.size() == extremes.size());
      for (const auto& [b, lo_hi] : extremes) {
        INFO("bucket " << b);
        CHECK(seen[b].first == Approx(lo_hi.first / 10.0));
        CHECK(seen[b].second == Approx(lo_hi.second / 10.0));
      }
    }
    // The forecast as it evolved: at returned points, in time order, ahead of them.
    const auto forecast = doc["forecast"].get_array();
    CHECK(forecast.size() > 0);
    previous = 0;
    for (auto row : forecast) {
      const std::int64_t t = row.at(0);
      CHECK(returned.count(t) == 1);
      CHECK(t > previous);
      previous = t;
      if (!row.at(1).is_null()) {
        CHECK(int64_t(row.at(1)) > t);
        CHECK(double(row.at(2)) >= 0.0);
        CHECK(double(row.at(2)) <= 1.0);
      }
    }
  }
  // °C conversion of a °F cook, exact from the tenths.
  simdjson::dom::parser parser;
  const auto c = get_json(parser, "/api/cooks/dev1c1/series?unit=C&max_points=5000");
  const auto first = c["points"].at(0);
  CHECK(double(first.at(1)) ==
        std::round(to_celsius(s.dev1_food[0], TemperatureUnit::Fahrenheit) * 10) / 10);
  CHECK(double(first.at(8)) == 73.9);  // 165 °F
}

TEST_CASE("/api/cooks/{uuid}/series: bad parameters are 400, unknown cooks 404") {
  for (const std::string bad : {"max_points=1", "max_points=20001", "max_points=x", "max_points="})
    expect_error("/api/cooks/dev1c1/series?" + bad, 400, "max_points");
  for (const std::string bad : {"unit=K", "unit=", "unit=CF"})
    expect_error("/api/cooks/dev1c1/series?" + bad, 400, "unit");
  expect_error("/api/cooks/dev1c1/series?points=5", 400, "points");
  expect_error("/api/cooks/nosuchcook/series", 404, "no such cook");
  expect_error("/api/cooks/..%2Fx/series", 404, "");
  expect_error("/api/cooks//series", 404, "");  // civetweb reads it as /api/cooks/series
  expect_error("/api/nothing", 404, "not found");
  simdjson::dom::parser parser;
  CHECK(text(get_json(parser, "/api/cooks/latest/series")["cook_uuid"]) == "d2c");
}

TEST_CASE("the page, its API and /events need the same basic authentication as /metrics") {
  exporter::ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.stale_after_s = 0;
  exporter::WebConfig config;
  config.basic_auth_users = {{"alice", exporter::bcrypt_hash("secret", 4)}};
  options.web_config = config;
  exporter::HttpServer server(shared().db, options);
  server.start();
  const std::string base = server.url();
  for (const std::string path :
       {"/metrics", "/", "/history", "/cooks/d2a", "/static/page.js", "/static/dygraph.min.js",
        "/api/devices", "/api/cooks", "/api/cooks/d2a", "/api/cooks/d2a/series", "/events"}) {
    INFO(path);
    const auto r = http_request(base + path);
    CHECK(r.status == 401);
    CHECK(r.header("www-authenticate") == "Basic realm=\"thermomaven\"");
  }
  const std::string with_user = "http://alice:secret@" + base.substr(std::string("http://").size());
  CHECK(http_request(with_user + "/api/devices").status == 200);
  CHECK(http_request(with_user + "/api/cooks/d2a/series").status == 200);
  CHECK(http_request(with_user + "/").status == 200);
  CHECK(http_request(with_user + "/static/dygraph.min.js").status == 200);
  CHECK(http_request("http://alice:wrong@" + base.substr(7) + "/api/devices").status == 401);
}

TEST_CASE("the page API answers 503 with a JSON error while the database is unreadable") {
  exporter_test::TempDir dir;
  exporter::ServerOptions options;
  options.listen = "127.0.0.1:0";
  exporter::HttpServer server(dir / "missing.db", options);
  server.start();
  const auto r = http_request(server.url() + "/api/devices");
  CHECK(r.status == 503);
  CHECK(r.header("content-type") == "application/json");
  CHECK(r.body.starts_with("{\"error\": \"database unavailable: "));
}

TEST_CASE("the page: /, /history and /cooks/{uuid} as HTML, its files, all under the CSP") {
  struct Expected {
    std::string path;
    std::string content_type;
    std::string contains;
  };
  const Expected pages[] = {
      {"/", "text/html; charset=utf-8", "/static/live.js"},
      {"/history", "text/html; charset=utf-8", "/static/history.js"},
      {"/cooks/dev1c1", "text/html; charset=utf-8", "/static/dygraph.min.js"},
      {"/cooks/latest", "text/html; charset=utf-8", "/static/cook.js"},
      {"/static/page.js", "text/javascript; charset=utf-8", "class LiveStream"},
      {"/static/page.css", "text/css; charset=utf-8", "prefers-color-scheme: dark"},
      {"/static/icon.svg", "image/svg+xml", "<svg"},
      // The chart library, read from Debian's libjs-dygraphs.
      {"/static/dygraph.min.js", "text/javascript; charset=utf-8", "@license"},
      {"/static/dygraph.min.css", "text/css; charset=utf-8", ".dygraph-"},
  };
  for (const auto& page : pages) {
    const auto r = http_request(shared().url(page.path));
    INFO(page.path << " -> " << r.status << " " << r.body.substr(0, 200));
    CHECK(r.status == 200);
    CHECK(r.header("content-type") == page.content_type);
    CHECK(r.header("content-security-policy") == "default-src 'self'");
    CHECK(r.header("x-content-type-options") == "nosniff");
    CHECK(r.body.find(page.contains) != std::string::npos);
  }
  // No inline script and no other origin in any page: the CSP would refuse
  // them, and the page must work with no internet.
  for (const char* path : {"/", "/history", "/cooks/dev1c1"}) {
    const std::string body = http_request(shared().url(path)).body;
    INFO(path);
    CHECK(std::regex_search(body, std::regex("<script>|<script [^>]*>[^<]")) == false);
    CHECK(body.find("http://") == std::string::npos);
    CHECK(body.find("https://") == std::string::npos);
    CHECK(body.find("style=") == std::string::npos);
  }
  // Unknown cooks and files are 404s; the HTML is not served as a static file.
  for (const char* path : {"/cooks/nosuchcook", "/cooks/bad%20id", "/static/nosuch.js",
                           "/static/live.html", "/static/../live.html", "/historyx"}) {
    INFO(path);
    CHECK(http_request(shared().url(path)).status == 404);
  }
}

TEST_CASE("/api/cooks/{uuid}: one cook, with the fields of `cooks --json`") {
  simdjson::dom::parser parser;
  const auto cook = get_json(parser, "/api/cooks/dev1c1");
  CHECK(text(cook["cook_uuid"]) == "dev1c1");
  CHECK(text(cook["device_name"]) == kHostileName);
  CHECK(text(cook["notes"]) == kHostileNote);
  CHECK(int64_t(cook["readings"]) == kReadings);
  CHECK(text(cook["unit"]) == "F");
  expect_error("/api/cooks/nosuchcook", 404, "no such cook");
  expect_error("/api/cooks/dev1c1?unit=C", 400, "no parameters");
}

TEST_CASE("the cook page answers 404 without its chart library, with the package's name") {
  exporter::ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.stale_after_s = 0;
  options.chart_library_dir = shared().dir / "no-such-dir";
  exporter::HttpServer server(shared().db, options);
  server.start();
  const auto r = http_request(server.url() + "/static/dygraph.min.js");
  CHECK(r.status == 404);
  CHECK_THAT(r.body, Catch::Contains("libjs-dygraphs"));
}
