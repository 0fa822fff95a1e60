// The page's own files (exporter/web: HTML, CSS, JavaScript, icon), compiled
// into the exporter by exporter/web/embed_assets.cmake, so that the page
// works on a LAN with nothing else installed but the chart library (which
// the server reads from Debian's libjs-dygraphs). Private to the exporter.
#pragma once

#include <string_view>
#include <vector>

namespace thermomaven::exporter {

struct WebAsset {
  std::string_view name;  // its file name in exporter/web: "live.html"
  std::string_view body;
};

const std::vector<WebAsset>& web_assets();

}  // namespace thermomaven::exporter
