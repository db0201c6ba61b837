#include "host/results/junit_report.hpp"

#include <fmt/format.h>

#include "kstep.pb.h"

namespace kstep::host {

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        if (static_cast<unsigned char>(c) >= 0x20 || c == '\t' || c == '\n' || c == '\r') {
          out += c;
        }
    }
  }
  return out;
}

std::string render_junit(const result::RunResult& result) {
  const auto& meta = result.metadata();
  const bool failed = result.verdict() == result::FAIL;
  const bool errored = result.verdict() == result::INCONCLUSIVE;
  const bool skipped = result.verdict() == result::SKIP;
  const double seconds = static_cast<double>(result.total_ms()) / 1000.0;
  const std::string suite =
      meta.kernel_release().empty() ? std::string{"kstep"} : "kstep." + meta.kernel_release();
  const std::string name = meta.scenario().empty() ? std::string{"boot"} : meta.scenario();

  std::string body;
  if (failed) {
    if (result.details().empty()) {
      body += fmt::format("      <failure message=\"{}\" type=\"{}\"/>\n", xml_escape(result.reason()),
                          xml_escape(result.outcome()));
    }
    for (const auto& detail : result.details()) {
      const std::string where =
          detail.step() == 0 ? std::string{"setup"} : fmt::format("step {}", detail.step());
      body += fmt::format("      <failure message=\"{}\" type=\"{}\">{}{}: {}</failure>\n",
                          xml_escape(detail.message().substr(0, detail.message().find('\n'))),
                          wire::Detail::Kind_Name(detail.kind()), where,
                          detail.cgroup().empty() ? std::string{} : ", cgroup " + xml_escape(detail.cgroup()),
                          xml_escape(detail.message()));
    }
  } else if (errored) {
    body += fmt::format("      <error message=\"{}\" type=\"{}\"/>\n", xml_escape(result.reason()),
                        xml_escape(result.outcome()));
  } else if (skipped) {
    // Text, not a message attribute: the Jenkins/Ant schema has <skipped>
    // as a text-only element.
    body += fmt::format("      <skipped>{}</skipped>\n", xml_escape(result.reason()));
  }
  body += fmt::format("      <system-out>{}</system-out>\n",
                      xml_escape(fmt::format("outcome: {} ({})\nlogs: {}\n", result.outcome(),
                                             result.reason(), result.run_dir())));

  std::string properties;
  const std::pair<const char*, const std::string*> props[] = {
      {"kernel_release", &meta.kernel_release()}, {"scheduler", &meta.scheduler()},
      {"accelerator", &meta.accelerator()},       {"topology", &meta.topology()},
      {"kstep_version", &meta.kstep_version()},   {"outcome", &result.outcome()},
  };
  for (const auto& [key, value] : props) {
    if (!value->empty()) {
      properties += fmt::format("      <property name=\"{}\" value=\"{}\"/>\n", key, xml_escape(*value));
    }
  }

  // <properties> must hold at least one <property> when it is there.
  if (!properties.empty()) {
    properties = "    <properties>\n" + properties + "    </properties>\n";
  }

  const int failures = failed ? std::max(1, result.details_size()) : 0;
  return fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<testsuites tests=\"1\" failures=\"{}\" errors=\"{}\" time=\"{:.3f}\">\n"
      "  <testsuite name=\"{}\" tests=\"1\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3f}\" "
      "timestamp=\"{}\" hostname=\"{}\">\n"
      "{}"
      "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3f}\">\n{}    </testcase>\n"
      "  </testsuite>\n"
      "</testsuites>\n",
      failures, errored ? 1 : 0, seconds, xml_escape(suite), failures, errored ? 1 : 0, skipped ? 1 : 0,
      seconds, xml_escape(meta.started_at().substr(0, 19)), xml_escape(meta.host()), properties,
      xml_escape(suite), xml_escape(name), seconds, body);
}

}  // namespace kstep::host
