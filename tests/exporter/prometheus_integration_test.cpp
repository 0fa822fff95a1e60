// The shipped Prometheus config, alert rules and Grafana dashboards against a
// real Prometheus scraping a real `thermomaven serve` over the sample capture:
// every expression must parse, every dashboard panel must return data.
#include <simdjson.h>

#include <catch2/catch.hpp>
#include <regex>

#include "exporter_test_support.hpp"
#include "test_support.hpp"
#include "thermomaven/storage/reading_writer.hpp"

using namespace thermomaven;
namespace fs = std::filesystem;

namespace {

std::string replace_once(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

// The capture up to the point where every cook is still running: at its very
// end every probe is docked and there is no food temperature left to show.
std::string capture_mid_cook(const std::string& path, int lines) {
  std::istringstream all(exporter_test::read_file(TM_SAMPLE_CAPTURE));
  std::string line, prefix;
  for (int i = 0; i < lines && std::getline(all, line); ++i) prefix += line + "\n";
  exporter_test::write_file(path, prefix);
  return path;
}

// A label value Prometheus must take from the page as it is: quotes,
// backslashes, a newline, an escape lookalike and UTF-8. (Counter labels
// come from fixed tables; device names are the text users type.)
const std::string kHostileName = "Dad's \"big\" smoker \\ 2\nline two \\n crème 🔥";

// A PromQL string literal of `text`.
std::string promql_string(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '\\' || c == '"') out += '\\';
    out += c == '\n' ? std::string("\\n") : std::string(1, c);
  }
  return out + "\"";
}

// What a running collector would have written next to the readings; the
// logger-health dashboard shows it. And a listed device with a hostile name
// that never reported.
void write_collector_status(const std::string& db_path) {
  storage::Database db(db_path);
  storage::ReadingWriter writer(db);
  writer.write(DeviceInfo{"990000000000000001", kHostileName, "WT09", "SN", {}});
  CollectorStatus status;
  status.updated_ms = 1'777'781'400'000;
  status.state = "connected";
  status.mqtt_connected = true;
  status.mqtt_reconnects = 1;
  status.cert_expiry_s = 1'800'000'000;
  status.counters.messages.status_report = 699;
  status.counters.messages.device_list = 1;
  status.counters.rejected.not_json = 2;
  status.counters.readings_stored = 1400;
  status.counters.logins = 1;
  status.counters.cert_applies = 1;
  writer.write(status);
  writer.commit();
}

struct Query {
  bool ok = false;
  std::size_t series = 0;
  std::string error;
};

class PrometheusApi {
 public:
  explicit PrometheusApi(std::string base) : base_(std::move(base)) {}

  Query instant(const std::string& expr) {
    std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
    char* escaped = curl_easy_escape(curl.get(), expr.c_str(), static_cast<int>(expr.size()));
    const std::string url = base_ + "/api/v1/query?query=" + escaped;
    curl_free(escaped);
    const auto response = exporter_test::http_request(url);
    Query q;
    simdjson::dom::element doc;
    if (parser_.parse(response.body).get(doc)) {
      q.error = "not JSON: " + response.body.substr(0, 200) + response.error;
      return q;
    }
    std::string_view status;
    q.ok = !doc["status"].get(status) && status == "success";
    if (!q.ok) {
      std::string_view error;
      if (!doc["error"].get(error)) q.error = error;
      return q;
    }
    simdjson::dom::element data = doc["data"];
    std::string_view type = data["resultType"].get_string().value_unsafe();
    if (type == "vector" || type == "matrix")
      q.series = data["result"].get_array().size();
    else
      q.series = 1;  // scalar or string
    return q;
  }

  std::string get(const std::string& path) {
    return exporter_test::http_request(base_ + path).body;
  }

 private:
  std::string base_;
  simdjson::dom::parser parser_;
};

// Grafana fills these in; a regex matching every value stands in for the
// user's choice, and fixed windows for the automatic intervals.
std::string with_variables(std::string expr) {
  static const std::vector<std::pair<std::regex, std::string>> vars = {
      {std::regex(R"(\$__rate_interval|\$\{__rate_interval\})"), "1m"},
      {std::regex(R"(\$__interval|\$\{__interval\})"), "15s"},
      {std::regex(R"(\$__range|\$\{__range\})"), "1h"},
      {std::regex(R"(\$(device|probe|cook_uuid)\b|\$\{(device|probe|cook_uuid)\})"), ".+"},
  };
  for (const auto& [pattern, value] : vars) expr = std::regex_replace(expr, pattern, value);
  return expr;
}

// label_values(metric{...}, label) and query_result(expr) as PromQL.
std::string variable_expr(std::string query) {
  static const std::regex label_values(R"(^label_values\((.*),\s*\w+\)$)");
  static const std::regex query_result(R"(^query_result\((.*)\)$)");
  std::smatch m;
  if (std::regex_match(query, m, label_values)) return m[1];
  if (std::regex_match(query, m, query_result)) return m[1];
  return query;
}

struct PanelQuery {
  std::string where;  // dashboard / panel title
  std::string expr;
};

void collect_panels(simdjson::dom::array panels, const std::string& dashboard,
                    std::vector<PanelQuery>& out, std::vector<std::string>& problems) {
  for (simdjson::dom::element panel : panels) {
    std::string_view type = panel["type"].get_string().value_unsafe();
    std::string_view title = panel["title"].get_string().value_unsafe();
    const std::string where = dashboard + " / " + std::string(title);
    if (type == "row") {
      simdjson::dom::array nested;
      if (!panel["panels"].get(nested)) collect_panels(nested, dashboard, out, problems);
      continue;
    }
    std::string_view unit;
    if (panel["fieldConfig"]["defaults"]["unit"].get(unit) || unit.empty())
      problems.push_back(where + ": no unit");
    std::string_view uid;
    if (panel["datasource"]["uid"].get(uid) || uid != "${datasource}")
      problems.push_back(where + ": datasource is not ${datasource}");
    simdjson::dom::array targets;
    if (panel["targets"].get(targets) || targets.size() == 0) {
      problems.push_back(where + ": no queries");
      continue;
    }
    for (simdjson::dom::element target : targets) {
      std::string_view expr;
      if (target["expr"].get(expr) || expr.empty())
        problems.push_back(where + ": empty query");
      else
        out.push_back({where, std::string(expr)});
    }
  }
}

}  // namespace

TEST_CASE("dashboards and alert rules work against a real Prometheus scraping thermomaven serve") {
  exporter_test::TempDir dir;
  const std::string db = dir / "sample.db";
  const auto imported =
      tm_test::thermomaven({"import", "--db", db, capture_mid_cook(dir / "capture.jsonl", 700)});
  INFO(imported.err);
  REQUIRE(imported.exit_code == 0);
  write_collector_status(db);

  const int serve_port = exporter_test::free_port();
  const std::string serve_address = "127.0.0.1:" + std::to_string(serve_port);
  exporter_test::ChildProcess serve(
      {TM_BINARY, "serve", "--db", db, "--listen", serve_address, "--stale-after", "0"},
      dir / "serve.log");
  REQUIRE(exporter_test::wait_until(
      [&] {
        return exporter_test::http_request("http://" + serve_address + "/healthz").status == 200;
      },
      15));

  // The shipped config, pointed at this server and scraping every second.
  const std::string shipped = std::string(TM_GRAFANA_DIR) + "/prometheus/";
  std::string config = exporter_test::read_file(shipped + "prometheus.yml");
  config = replace_once(config, "\"127.0.0.1:9469\"", "\"" + serve_address + "\"");
  config = replace_once(config, "scrape_interval: 15s", "scrape_interval: 1s");
  config = replace_once(config, "evaluation_interval: 15s", "evaluation_interval: 1s");
  config = replace_once(config, "scrape_interval: 10s", "scrape_interval: 1s");
  exporter_test::write_file(dir / "prometheus.yml", config);
  fs::copy_file(shipped + "thermomaven-alerts.yml", dir / "thermomaven-alerts.yml");

  const int prometheus_port = exporter_test::free_port();
  const std::string prometheus_url = "http://127.0.0.1:" + std::to_string(prometheus_port);
  exporter_test::ChildProcess prometheus(
      {TM_PROMETHEUS, "--config.file=" + (dir / "prometheus.yml"),
       "--storage.tsdb.path=" + (dir / "tsdb"),
       "--web.listen-address=127.0.0.1:" + std::to_string(prometheus_port), "--log.level=warn"},
      dir / "prometheus.log");
  PrometheusApi api(prometheus_url);
  // Three good scrapes, so that rate() over them has two points at least.
  const bool scraped = exporter_test::wait_until(
      [&] {
        const Query q =
            api.instant("count_over_time(up{job=\"thermomaven\"}[1m]) >= 3 and up == 1");
        return q.ok && q.series == 1;
      },
      45);
  INFO("prometheus log:\n" << prometheus.log() << "\nserve log:\n" << serve.log());
  REQUIRE(scraped);

  {  // the hostile label values arrived whole through the text format
    const Query device =
        api.instant("thermomaven_device_up{device_name=" + promql_string(kHostileName) + "} == 0");
    INFO(device.error);
    CHECK(device.series == 1);
  }

  {  // every alert rule is loaded and its expression evaluates
    simdjson::dom::parser parser;
    const std::string rules_json = api.get("/api/v1/rules");
    simdjson::dom::element rules = parser.parse(rules_json);
    std::size_t count = 0;
    for (simdjson::dom::element group : rules["data"]["groups"].get_array()) {
      for (simdjson::dom::element rule : group["rules"].get_array()) {
        const std::string name(rule["name"].get_string().value_unsafe());
        const std::string expr(rule["query"].get_string().value_unsafe());
        std::string_view health = rule["health"].get_string().value_unsafe();
        INFO(name << ": " << expr);
        CHECK(health != "err");
        const Query q = api.instant(expr);
        INFO(q.error);
        CHECK(q.ok);
        ++count;
      }
    }
    const std::string shipped_rules = exporter_test::read_file(shipped + "thermomaven-alerts.yml");
    std::size_t alerts = 0;
    for (std::size_t at = 0; (at = shipped_rules.find("- alert:", at)) != std::string::npos; ++at)
      ++alerts;
    CHECK(alerts >= 6);
    CHECK(count == alerts);
  }

  {  // every dashboard query parses and every panel shows data
    std::vector<PanelQuery> queries;
    std::vector<std::string> problems;
    std::size_t dashboards = 0;
    for (const auto& entry : fs::directory_iterator(std::string(TM_GRAFANA_DIR) + "/dashboards")) {
      if (entry.path().extension() != ".json") continue;
      ++dashboards;
      simdjson::dom::parser parser;
      simdjson::dom::element dashboard;
      const std::string name = entry.path().filename().string();
      REQUIRE_FALSE(parser.load(entry.path().string()).get(dashboard));
      CHECK(dashboard["schemaVersion"].get_int64().value_unsafe() >= 36);
      // A `datasource` variable of type datasource, and panels that use it.
      bool datasource_variable = false;
      for (simdjson::dom::element var : dashboard["templating"]["list"].get_array()) {
        std::string_view var_name = var["name"].get_string().value_unsafe();
        std::string_view type = var["type"].get_string().value_unsafe();
        if (var_name == "datasource" && type == "datasource") datasource_variable = true;
        if (type == "query") {
          std::string_view query;
          if (var["query"]["query"].get(query)) query = var["query"].get_string().value_unsafe();
          queries.push_back(
              {name + " / variable " + std::string(var_name), variable_expr(std::string(query))});
        }
      }
      CHECK(datasource_variable);
      collect_panels(dashboard["panels"].get_array(), name, queries, problems);
    }
    CHECK(dashboards == 3);
    CHECK(problems.empty());
    for (const auto& p : problems) UNSCOPED_INFO(p);
    CHECK(queries.size() > 30);
    for (const PanelQuery& q : queries) {
      const std::string expr = with_variables(q.expr);
      const Query result = api.instant(expr);
      INFO(q.where << ": " << expr << "\n" << result.error);
      CHECK(expr.find('$') == std::string::npos);  // a variable no dashboard defines
      CHECK(result.ok);
      CHECK(result.series > 0);
    }
  }

  CHECK(prometheus.stop() == 0);
  CHECK(serve.stop() == 0);
}
