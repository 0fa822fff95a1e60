// The web configuration file: a strict reader for the small YAML subset the
// format needs (two top-level maps of `key: scalar`, comments, quoted
// scalars). Anything else is refused with the file and line, rather than
// half-understood: a security setting that is silently ignored is worse
// than a start that fails.
#include "thermomaven/exporter/web_config.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>

namespace thermomaven::exporter {

using tls::ClientAuth;
using tls::TlsVersion;

namespace {

namespace fs = std::filesystem;

// Keys of exporter-toolkit that this exporter does not implement: named, so
// that the error says "not supported" rather than "unknown".
const std::set<std::string, std::less<>> kUnsupportedTlsKeys = {"cert",
                                                                "key",
                                                                "client_ca",
                                                                "cipher_suites",
                                                                "curve_preferences",
                                                                "max_version",
                                                                "client_allowed_sans",
                                                                "prefer_server_cipher_suites"};

struct Line {
  int number = 0;
  int indent = 0;
  std::string key;
  std::string value;  // unquoted
  bool has_value = false;
};

class Reader {
 public:
  Reader(std::string path) : path_(std::move(path)) {}

  [[noreturn]] void fail(int line, const std::string& what) const {
    throw WebConfigError(path_ + ":" + std::to_string(line) + ": " + what);
  }

  // The text up to a comment: '#' at the start or after a blank, outside quotes.
  std::string without_comment(const std::string& text) const {
    char quote = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
      const char c = text[i];
      if (quote) {
        if (c == '\\' && quote == '"')
          ++i;
        else if (c == quote)
          quote = 0;
      } else if (c == '\'' || c == '"') {
        quote = c;
      } else if (c == '#' && (i == 0 || text[i - 1] == ' ' || text[i - 1] == '\t')) {
        return text.substr(0, i);
      }
    }
    return text;
  }

  std::string scalar(int line, std::string_view text) const {
    if (text.empty()) return {};
    if (text == "{}") return "{}";  // an empty map, for the sections
    const char first = text.front();
    if (first == '\'' || first == '"') return quoted(line, text);
    if (std::string_view("[]{}&*!|>%@`").find(first) != std::string_view::npos)
      fail(line, "'" + std::string(text) + "': only plain and quoted scalars are supported");
    if (text == "~" || text == "null") return {};
    return std::string(text);
  }

  std::string quoted(int line, std::string_view text) const {
    const char quote = text.front();
    std::string out;
    std::size_t i = 1;
    for (; i < text.size(); ++i) {
      const char c = text[i];
      if (c == quote) {
        if (quote == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
          out += '\'';
          ++i;
          continue;
        }
        break;
      }
      if (c == '\\' && quote == '"') {
        if (++i == text.size()) break;
        switch (text[i]) {
          case '\\':
            out += '\\';
            break;
          case '"':
            out += '"';
            break;
          case 'n':
            out += '\n';
            break;
          case 't':
            out += '\t';
            break;
          default:
            fail(line, std::string("unsupported escape \\") + text[i]);
        }
        continue;
      }
      out += c;
    }
    if (i >= text.size()) fail(line, "unterminated quoted string");
    if (i + 1 != text.size()) fail(line, "unexpected text after the closing quote");
    return out;
  }

  // "key: value", "key:" or "'key': value"; nullopt for a blank line.
  std::optional<Line> parse(int number, std::string text) const {
    if (!text.empty() && text.back() == '\r') text.pop_back();
    text = without_comment(text);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.pop_back();
    if (text.empty()) return std::nullopt;
    Line line;
    line.number = number;
    while (line.indent < static_cast<int>(text.size()) && text[line.indent] == ' ') ++line.indent;
    if (text[line.indent] == '\t') fail(number, "tabs are not allowed for indentation");
    if (text[line.indent] == '-') fail(number, "lists are not part of this format");
    std::string_view rest = std::string_view(text).substr(line.indent);
    std::size_t colon;
    if (rest.front() == '\'' || rest.front() == '"') {
      const std::size_t close = rest.find(rest.front(), 1);
      if (close == std::string_view::npos) fail(number, "unterminated quoted key");
      line.key = quoted(number, rest.substr(0, close + 1));
      colon = close + 1;
      if (colon >= rest.size() || rest[colon] != ':') fail(number, "expected 'key: value'");
    } else {
      colon = rest.find(": ");
      if (colon == std::string_view::npos && rest.back() == ':') colon = rest.size() - 1;
      if (colon == std::string_view::npos || colon == 0) fail(number, "expected 'key: value'");
      line.key = std::string(rest.substr(0, colon));
    }
    std::string_view value = rest.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    line.has_value = !value.empty();
    line.value = scalar(number, value);
    return line;
  }

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

ClientAuth client_auth_named(const Reader& r, const Line& line) {
  static const std::map<std::string, ClientAuth, std::less<>> names = {
      {"NoClientCert", ClientAuth::NoClientCert},
      {"RequestClientCert", ClientAuth::RequestClientCert},
      {"RequireAnyClientCert", ClientAuth::RequireAnyClientCert},
      {"VerifyClientCertIfGiven", ClientAuth::VerifyClientCertIfGiven},
      {"RequireAndVerifyClientCert", ClientAuth::RequireAndVerifyClientCert}};
  const auto it = names.find(line.value);
  if (it == names.end())
    r.fail(line.number, "client_auth_type '" + line.value +
                            "' is none of NoClientCert, RequestClientCert, RequireAnyClientCert, "
                            "VerifyClientCertIfGiven, RequireAndVerifyClientCert");
  return it->second;
}

// bcrypt: $2a$, $2b$ or $2y$, a two-digit cost, 53 characters of salt and hash.
bool looks_like_bcrypt(const std::string& hash) {
  return hash.size() == 60 && hash[0] == '$' && hash[1] == '2' &&
         (hash[2] == 'a' || hash[2] == 'b' || hash[2] == 'y') && hash[3] == '$' &&
         std::isdigit(static_cast<unsigned char>(hash[4])) &&
         std::isdigit(static_cast<unsigned char>(hash[5])) && hash[6] == '$';
}

class WebConfigBuilder {
 public:
  WebConfigBuilder(const Reader& reader, fs::path base_dir)
      : r_(reader), base_dir_(std::move(base_dir)) {}

  void section(const Line& line) {
    if (!seen_sections_.insert(line.key).second) r_.fail(line.number, "duplicate key " + line.key);
    if (line.key == "http_server_config")
      r_.fail(line.number, "http_server_config is not supported by thermomaven");
    if (line.key != "tls_server_config" && line.key != "basic_auth_users")
      r_.fail(line.number,
              "unknown key '" + line.key + "' (expected tls_server_config or basic_auth_users)");
    const bool empty_map = line.has_value && (line.value == "{}" || line.value.empty());
    if (line.has_value && !empty_map)
      r_.fail(line.number, line.key + " must be a map of 'key: value' lines below it");
    if (line.key == "tls_server_config") {
      tls_line_ = line.number;
      config_.tls.emplace();
    }
  }

  void entry(const std::string& section, const Line& line) {
    if (!seen_keys_.insert(section + "." + line.key).second)
      r_.fail(line.number, "duplicate key " + line.key);
    if (section == "basic_auth_users")
      user(line);
    else
      tls(line);
  }

  WebConfig finish() {
    if (config_.tls) check_tls();
    return std::move(config_);
  }

 private:
  void user(const Line& line) {
    if (line.key.find(':') != std::string::npos)
      r_.fail(line.number, "a user name cannot contain ':' (basic authentication splits there)");
    if (!looks_like_bcrypt(line.value))
      r_.fail(line.number, "the password of " + line.key +
                               " is not a bcrypt hash ($2y$10$... ; see thermomaven "
                               "hash-password)");
    config_.basic_auth_users[line.key] = line.value;
  }

  void tls(const Line& line) {
    thermomaven::tls::TlsServerConfig& tls = *config_.tls;
    if (kUnsupportedTlsKeys.count(line.key))
      r_.fail(line.number, "tls_server_config." + line.key + " is not supported by thermomaven");
    if (line.key == "cert_file") {
      tls.cert_file = file(line);
    } else if (line.key == "key_file") {
      tls.key_file = file(line);
      key_line_ = line.number;
    } else if (line.key == "client_ca_file") {
      tls.client_ca_file = file(line);
    } else if (line.key == "client_auth_type") {
      tls.client_auth = client_auth_named(r_, line);
      client_auth_given_ = true;
    } else if (line.key == "min_version") {
      if (line.value == "TLS12")
        tls.min_version = TlsVersion::Tls12;
      else if (line.value == "TLS13")
        tls.min_version = TlsVersion::Tls13;
      else
        r_.fail(line.number, "min_version must be TLS12 or TLS13 (older ones are not offered)");
    } else {
      r_.fail(line.number, "unknown key '" + line.key + "' in tls_server_config");
    }
  }

  // Relative to the configuration file's directory, as exporter-toolkit does.
  std::string file(const Line& line) {
    if (line.value.empty()) r_.fail(line.number, line.key + " needs a file name");
    const fs::path path(line.value);
    const std::string resolved = (path.is_absolute() ? path : base_dir_ / path).string();
    struct stat info {};
    if (stat(resolved.c_str(), &info) != 0)
      r_.fail(line.number, line.key + " " + resolved + ": " + std::strerror(errno));
    return resolved;
  }

  void check_tls() {
    thermomaven::tls::TlsServerConfig& tls = *config_.tls;
    if (tls.cert_file.empty() || tls.key_file.empty())
      r_.fail(tls_line_, "tls_server_config needs both cert_file and key_file");
    struct stat info {};
    if (stat(tls.key_file.c_str(), &info) == 0 && (info.st_mode & S_IROTH)) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(info.st_mode & 07777));
      r_.fail(key_line_, "the private key " + tls.key_file + " is readable by every user (mode " +
                             mode + "); chmod o-r it");
    }
    // A client CA without a policy means checking client certificates.
    if (!tls.client_ca_file.empty() && !client_auth_given_)
      tls.client_auth = ClientAuth::RequireAndVerifyClientCert;
    const bool verifies = tls.client_auth == ClientAuth::VerifyClientCertIfGiven ||
                          tls.client_auth == ClientAuth::RequireAndVerifyClientCert;
    if (verifies && tls.client_ca_file.empty())
      r_.fail(tls_line_, "client_auth_type verifies client certificates: it needs client_ca_file");
  }

  const Reader& r_;
  fs::path base_dir_;
  WebConfig config_;
  std::set<std::string> seen_sections_, seen_keys_;
  int tls_line_ = 0, key_line_ = 0;
  bool client_auth_given_ = false;
};

}  // namespace

WebConfig load_web_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw WebConfigError(path +
                         ": cannot read the web configuration file: " + std::strerror(errno));
  const Reader reader(path);
  WebConfigBuilder builder(reader, fs::absolute(fs::path(path)).parent_path());
  std::string text, section;
  int section_indent = 0;  // of the entries of the current section, once seen
  for (int number = 1; std::getline(in, text); ++number) {
    if (number == 1 && text.rfind("---", 0) == 0 && text.find_first_not_of('-', 3) == text.npos)
      continue;  // a document start marker
    const std::optional<Line> line = reader.parse(number, text);
    if (!line) continue;
    if (line->indent == 0) {
      builder.section(*line);
      section = line->has_value ? "" : line->key;  // "key: {}" takes no entries
      section_indent = 0;
      continue;
    }
    if (section.empty()) reader.fail(number, "indented line outside a section");
    if (section_indent == 0) section_indent = line->indent;
    if (line->indent != section_indent)
      reader.fail(number, "bad indentation: " + std::to_string(line->indent) +
                              " spaces where the lines above have " +
                              std::to_string(section_indent));
    if (!line->has_value) reader.fail(number, line->key + " needs a value on the same line");
    builder.entry(section, *line);
  }
  return builder.finish();
}

}  // namespace thermomaven::exporter
