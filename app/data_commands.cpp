// import, cooks, export: the capture file in, cooks out.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>

#include "cli_args.hpp"
#include "commands.hpp"
#include "thermomaven/collector/capture_import.hpp"
#include "thermomaven/collector/ingestor.hpp"
#include "thermomaven/core/time.hpp"
#include "thermomaven/exporter/cook_export.hpp"
#include "thermomaven/storage/cook_reader.hpp"
#include "thermomaven/storage/reading_writer.hpp"

namespace thermomaven::app {
namespace {

// How long a pause splits two cooks: at most a year.
constexpr std::int64_t kMaxCookGapS = 365 * 24 * 3600;

TemperatureUnit parse_unit(const std::string& text, const std::string& flag) {
  if (text == "F" || text == "f") return TemperatureUnit::Fahrenheit;
  if (text == "C" || text == "c") return TemperatureUnit::Celsius;
  throw UsageError(flag + " must be F or C, not '" + text + "'");
}

std::int64_t cook_gap_ms(const CliArgs& args) {
  using namespace std::chrono;
  return milliseconds(args.seconds("--cook-gap", seconds(1800), 1, kMaxCookGapS)).count();
}

std::string summary(const collector::IngestStats& s) {
  std::string kinds;
  std::uint64_t messages = 0;
  for (const auto& [kind, count] : s.messages) {
    kinds += (kinds.empty() ? "" : ", ") + std::string(collector::kind_name(kind)) + " " +
             std::to_string(count);
    messages += count;
  }
  std::string out = std::to_string(s.lines) + " lines, " + std::to_string(messages) + " messages";
  if (!kinds.empty()) out += " (" + kinds + ")";
  out += ", " + std::to_string(s.readings_stored) + " readings stored, " +
         std::to_string(s.readings_duplicate) + " duplicates skipped, " +
         std::to_string(s.rejected_total()) + " lines rejected";
  if (s.blank_lines) out += ", " + std::to_string(s.blank_lines) + " blank lines skipped";
  return out;
}

// Returns false when the input could not be read to its end.
bool import_one(const std::string& name, collector::Ingestor& ingestor) {
  std::FILE* in = name == "-" ? stdin : std::fopen(name.c_str(), "rb");
  if (!in) {
    std::fprintf(stderr, "import: error: cannot open %s: %s\n", name.c_str(), std::strerror(errno));
    return false;
  }
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> owner(in == stdin ? nullptr : in, std::fclose);
  const std::string label = name == "-" ? "<stdin>" : name;
  try {
    collector::import_capture(in, ingestor, thermomaven::now_ms, [&](const collector::RejectedLine& r) {
      std::fprintf(stderr, "%s:%llu: rejected (%s): %s\n", label.c_str(),
                   static_cast<unsigned long long>(r.line_number),
                   std::string(collector::reject_reason_name(r.reason)).c_str(), r.detail.c_str());
    });
  } catch (const std::system_error& e) {
    std::fprintf(stderr, "import: error: cannot read %s: %s\n", label.c_str(), e.what());
    return false;
  }
  return true;
}

}  // namespace

int import_command(int argc, char** argv) {
  CliArgs args(argc, argv, {"--db", "--source-unit", "--cook-gap"}, {"--strict"});
  const std::string db_path = args.required("--db");
  if (args.positional().empty()) throw UsageError("name at least one CAPTURE file, or - for stdin");
  thermomaven::client::ParserOptions options;
  options.unit = parse_unit(args.get_or("--source-unit", "F"), "--source-unit");

  storage::Database db(db_path);
  storage::ReadingWriter writer(db, {.batch_size = 5000, .cook_gap_ms = cook_gap_ms(args)});
  collector::Ingestor ingestor(writer, options);
  bool complete = true;
  try {
    for (const std::string& name : args.positional())
      complete = import_one(name, ingestor) && complete;
    writer.commit();
  } catch (const storage::StorageError& e) {
    std::fprintf(
        stderr,
        "import: error: %s\nimport: %s (before the error; the failed batch was rolled back)\n",
        e.what(), summary(ingestor.stats()).c_str());
    return 2;
  }
  const auto& stats = ingestor.stats();
  std::fprintf(stderr, "import: %s\n", summary(stats).c_str());
  if (!complete) return 2;
  return args.has("--strict") && stats.rejected_total() > 0 ? 1 : 0;
}

int cooks_command(int argc, char** argv) {
  CliArgs args(argc, argv, {"--db", "--cook-gap"}, {"--json"});
  storage::Database db(args.required("--db"), storage::OpenMode::ReadOnly);
  storage::CookReader reader(db);
  const auto cooks = reader.list_cooks();
  const std::string text = args.has("--json")
                               ? exporter::cooks_json(cooks, now_ms(), cook_gap_ms(args))
                               : exporter::cooks_table(cooks, now_ms(), cook_gap_ms(args));
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}

int export_command(int argc, char** argv) {
  CliArgs args(argc, argv, {"--db", "--cook", "--unit", "-o"}, {});
  storage::Database db(args.required("--db"), storage::OpenMode::ReadOnly);
  storage::CookReader reader(db);
  const std::string which = args.required("--cook");
  std::optional<TemperatureUnit> unit;
  if (auto u = args.get("--unit")) unit = parse_unit(*u, "--unit");
  const auto cook = reader.find_cook(which);
  if (!cook) {
    std::fprintf(stderr, "export: error: no cook %s in %s (see: thermomaven cooks --db %s)\n",
                 which.c_str(), db.path().c_str(), db.path().c_str());
    return 1;
  }
  if (auto path = args.get("-o")) {
    std::ofstream file(*path, std::ios::binary | std::ios::trunc);
    if (!file) throw std::runtime_error("cannot write " + *path + ": " + std::strerror(errno));
    exporter::write_cook_csv(reader, *cook, unit, file);
    file.flush();
    if (!file) throw std::runtime_error("could not write all of " + *path);
  } else {
    std::ios::sync_with_stdio(false);
    exporter::write_cook_csv(reader, *cook, unit, std::cout);
    std::cout.flush();
  }
  return 0;
}

}  // namespace thermomaven::app
