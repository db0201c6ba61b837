// VM tests of sched_ext schedulers on the real kernel: the bundled
// kstep-sched attached for a whole scenario or by scenario ops, and its
// fault knobs, which prove that kstep catches a scheduler that crashes,
// stalls, exits or never passes the verifier.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "tests/vm/vm_fixture.hpp"

namespace kstep::vmtest {
namespace {

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

// The scenario time (ms) of the scheduler's death, from scheduler-events.txt.
long died_at_ms(const std::string& events) {
  std::smatch match;
  const std::regex died{R"(kind: DIED .*elapsed_ms: (\d+))"};
  return std::regex_search(events, match, died) ? std::stol(match[1]) : -1;
}

class SchedulerVm : public Vm {
 protected:
  // kstep-sched with the given arguments under the 20 s hold scenario.
  KstepRun run_long_hold(const std::vector<std::string>& sched_args,
                         const std::vector<std::string>& more = {}) {
    std::vector<std::string> args{"--scheduler", "kstep-sched", "--scenario",
                                  data("scheduler-long-hold.textproto")};
    args.insert(args.end(), more.begin(), more.end());
    for (const auto& arg : sched_args) {
      args.insert(args.end(), {"--sched-arg", arg});
    }
    return run(args);
  }

  // The death ended the 20 s hold of step 2 early, and the workers were
  // still collected and reported.
  void expect_hold_cut_short() {
    const auto events = file("scheduler-events.txt");
    const long died = died_at_ms(events);
    EXPECT_GT(died, 0) << events;
    EXPECT_LT(died, 10000) << events;
    const auto reports = file("reports.txt");
    EXPECT_TRUE(
        std::regex_search(reports, std::regex{R"(step_report \{\s*step: 2\s*cgroups \{\s*cgroup: "spin")"}))
        << reports;
    EXPECT_TRUE(contains(reports, "iterations: ")) << reports;
    EXPECT_FALSE(contains(reports, "passed: true")) << reports;
  }
};

TEST_F(SchedulerVm, TheBundledSchedulerAttachesForTheScenarioAndDetachesAtItsEnd) {
  const auto result = run({"--scheduler", "kstep-sched", "--sched-arg", "--mode", "--sched-arg", "local"});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_TRUE(contains(result.output, "scheduler 'kstep-sched'")) << result.output;
  EXPECT_TRUE(contains(result.output, "attached (ops kstep)")) << result.output;
  // Its own output streams live, prefixed with its name.
  EXPECT_TRUE(contains(result.output, "[kstep-sched] kstep-sched: attached mode=local")) << result.output;
  const auto events = file("scheduler-events.txt");
  EXPECT_EQ(count(events, "kind: ATTACHED"), 1U) << events;
  EXPECT_EQ(count(events, "kind: DETACHED"), 1U) << events;
  EXPECT_FALSE(contains(events, "kind: DIED")) << events;
  // It really scheduled the workers: its counters, printed at detach.
  EXPECT_TRUE(contains(file("scheduler.stderr"), "kstep-sched: counters enqueued="))
      << file("scheduler.stderr");
  EXPECT_TRUE(contains(file("result.txt"), "scheduler_attach_us=")) << file("result.txt");
}

TEST_F(SchedulerVm, AnInjectedErrorIsACrashAttributedToItsStepAndEndsTheHold) {
  const auto result = run_long_hold(
      {"--error-after-ms", "1500"},
      {"--json", (run_dir_ / "copy.json").string(), "--junit", (run_dir_ / "junit.xml").string()});
  EXPECT_EQ(result.exit_code, 5) << result.output;  // scheduler-failure
  EXPECT_TRUE(contains(result.output, "outcome: scheduler-failure")) << result.output;
  EXPECT_TRUE(contains(result.output, "crashed during step 2 ('long')")) << result.output;
  EXPECT_TRUE(contains(result.output, "(scx_bpf_error)")) << result.output;
  EXPECT_TRUE(contains(result.output, "injected error after 1500 ms")) << result.output;
  EXPECT_TRUE(contains(file("reports.txt"), "kind: SCHEDULER_CRASHED")) << file("reports.txt");
  expect_hold_cut_short();
  const auto result_txt = file("result.txt");
  EXPECT_TRUE(contains(result_txt, "scheduler_death=SCHEDULER_CRASHED")) << result_txt;
  EXPECT_TRUE(contains(result_txt, "scheduler_detected_guest_us=")) << result_txt;
  // kstep-sched says when it raised the error, on the same clock.
  EXPECT_TRUE(contains(file("scheduler.stdout"), "kstep-sched: fault_at_us=")) << file("scheduler.stdout");
  // The result documents: --json is a copy of result.json, which `kstep
  // report` reads back with the same outcome; JUnit has the crash.
  EXPECT_EQ(file("copy.json"), file("result.json"));
  EXPECT_TRUE(contains(file("result.json"), R"("verdict": "FAIL")")) << file("result.json");
  EXPECT_TRUE(contains(file("junit.xml"), R"(type="SCHEDULER_CRASHED")")) << file("junit.xml");
  const auto report = run_kstep({"report", run_dir_.string()});
  EXPECT_EQ(report.exit_code, 5) << report.output;
  EXPECT_TRUE(contains(report.output, "outcome: scheduler-failure")) << report.output;
  EXPECT_TRUE(contains(report.output, "   2  long")) << report.output;
}

TEST_F(SchedulerVm, ADispatchStallIsEjectedByTheWatchdogAndReportedAsAStall) {
  const auto result = run_long_hold({"--stall-after-ms", "1000", "--watchdog-ms", "2000"});
  EXPECT_EQ(result.exit_code, 5) << result.output;
  EXPECT_TRUE(contains(result.output, "stalled during step 2")) << result.output;
  EXPECT_TRUE(contains(result.output, "(runnable task stall)")) << result.output;
  EXPECT_TRUE(contains(file("reports.txt"), "kind: SCHEDULER_STALLED")) << file("reports.txt");
  expect_hold_cut_short();
}

TEST_F(SchedulerVm, ACleanExitIsReportedAsSuch) {
  const auto result = run_long_hold({"--exit-after-ms", "1500"});
  EXPECT_EQ(result.exit_code, 5) << result.output;
  EXPECT_TRUE(contains(result.output, "exited during step 2")) << result.output;
  EXPECT_TRUE(contains(result.output, "(unregistered from BPF)")) << result.output;
  EXPECT_TRUE(contains(result.output, "exited with code 0")) << result.output;
  EXPECT_TRUE(contains(file("reports.txt"), "kind: SCHEDULER_EXITED")) << file("reports.txt");
  expect_hold_cut_short();
}

TEST_F(SchedulerVm, AVerifierRejectionReportsTheVerifiersMessage) {
  const auto result = run_long_hold({"--fail-verifier"});
  EXPECT_EQ(result.exit_code, 5) << result.output;
  EXPECT_TRUE(contains(result.output, "SCHEDULER_ATTACH_FAILED")) << result.output;
  EXPECT_TRUE(contains(result.output, "rejected by the verifier")) << result.output;
  const auto reports = file("reports.txt");
  // The verifier's own verdict reaches the report; its whole log, as
  // libbpf prints it, is in the scheduler's stderr.
  EXPECT_TRUE(contains(reports, "invalid mem access")) << reports;
  EXPECT_TRUE(contains(file("scheduler.stderr"), "-- BEGIN PROG LOAD LOG --")) << file("scheduler.stderr");
  // Nothing ran: the scenario needs its scheduler.
  EXPECT_FALSE(contains(reports, "step_report")) << reports;
}

TEST_F(SchedulerVm, ReplaceRestartAndDetachWorkMidScenario) {
  const auto result = run({"--scenario", data("scheduler-ops.textproto")});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  const auto events = file("scheduler-events.txt");
  // attach, replace, restart: three processes; each detached cleanly.
  EXPECT_EQ(count(events, "kind: ATTACHED"), 3U) << events;
  EXPECT_EQ(count(events, "kind: DETACHED"), 3U) << events;
  EXPECT_FALSE(contains(events, "kind: DIED")) << events;
  // The replacement really runs the other mode: per-CPU local queues.
  const auto out = file("scheduler.stdout");
  EXPECT_TRUE(contains(out, "attached mode=global")) << out;
  EXPECT_TRUE(contains(out, "attached mode=local")) << out;
  EXPECT_FALSE(contains(file("steps.txt"), "not run")) << file("steps.txt");
}

TEST_F(SchedulerVm, AKernelWithoutSchedExtIsRefusedClearly) {
  // The real kernel with a config that says it has no sched_ext: kstep
  // must refuse before booting rather than fail somewhere inside the guest.
  const auto list = run_kstep({"kernel", "list"});
  std::smatch match;
  ASSERT_TRUE(std::regex_search(list.output, match, std::regex{R"((\S+) .*\(default\))"})) << list.output;
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const std::filesystem::path cache = xdg != nullptr && xdg[0] == '/'
                                          ? std::filesystem::path{xdg}
                                          : std::filesystem::path{std::getenv("HOME")} / ".cache";
  std::ifstream in{cache / "kstep" / "kernels" / match[1].str() / "config"};
  ASSERT_TRUE(in) << "the default kernel's config is not cached";
  std::ofstream out{run_dir_ / "config-without-sched-ext"};
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("CONFIG_SCHED_CLASS_EXT=", 0) != 0) {
      out << line << '\n';
    }
  }
  out.close();
  const auto result =
      run({"--scheduler", "kstep-sched", "--kernel-config", (run_dir_ / "config-without-sched-ext").string(),
           "--json", (run_dir_ / "refused.json").string()});
  EXPECT_EQ(result.exit_code, 7) << result.output;
  EXPECT_TRUE(contains(result.output, "outcome: kernel-unsupported")) << result.output;
  EXPECT_TRUE(contains(result.output, "the kernel lacks sched_ext")) << result.output;
  // Refused before any run directory existed, the result is still written.
  EXPECT_TRUE(contains(file("refused.json"), R"("outcome": "kernel-unsupported")")) << file("refused.json");
  EXPECT_TRUE(contains(file("refused.json"), R"("verdict": "SKIP")")) << file("refused.json");
}

}  // namespace
}  // namespace kstep::vmtest
