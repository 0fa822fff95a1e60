// JSON string text for the JSON the project writes by hand (request bodies,
// the control socket, the exporter's JSON): one escaping rule everywhere.
// Reading JSON is simdjson's job, never this file's.
#pragma once

#include <string>
#include <string_view>

namespace thermomaven {

// `text` escaped for inside a JSON string: quote, backslash, and every
// control character (\n \r \t by name, the rest as \u00XX). Other bytes,
// UTF-8 included, are copied as they are.
std::string json_escape(std::string_view text);
// Appends the escaped text to `out` (no allocation per character).
void append_json_escaped(std::string& out, std::string_view text);
// "\"" + json_escape(text) + "\""
std::string json_quoted(std::string_view text);

}  // namespace thermomaven
