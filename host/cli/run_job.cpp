#include "host/cli/run_job.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>

#include <fmt/format.h>
#include <google/protobuf/text_format.h>
#include <spdlog/spdlog.h>

#include <iostream>

#include "host/cli/run_documents.hpp"
#include "host/cli/run_kernel.hpp"
#include "host/cli/scenario_plan.hpp"
#include "host/initramfs/initramfs_cache.hpp"
#include "host/results/result_document.hpp"
#include "host/session/guest_session.hpp"
#include "host/session/run_directory.hpp"
#include "host/session/scenario_driver.hpp"
#include "host/session/scenario_summary.hpp"
#include "host/vm/private_dir.hpp"
#include "host/vm/qemu_argv.hpp"

namespace kstep::host {
namespace {

using std::chrono::duration;

std::string seconds(std::chrono::microseconds us) {
  return fmt::format("{:.2f} s", duration<double>(us).count());
}

std::string micros(const std::optional<std::chrono::microseconds>& us) {
  return us ? std::to_string(us->count()) : "";
}

Accelerator choose_accelerator(AccelChoice choice) {
  switch (choice) {
    case AccelChoice::kKvm: return Accelerator::Kvm;
    case AccelChoice::kTcg: return Accelerator::Tcg;
    case AccelChoice::kAuto: break;
  }
  auto decision = detect_accelerator();
  spdlog::info("accelerator {}: {}", to_string(decision.accelerator), decision.reason);
  return decision.accelerator;
}

// The first attach time and crash detection latency of the run's
// schedulers, for result.txt (empty without them).
std::vector<std::pair<std::string, std::string>> scheduler_figures(const ScenarioDriver* scenario) {
  std::vector<std::pair<std::string, std::string>> figures;
  if (scenario == nullptr) {
    return figures;
  }
  // The first of each: a replaced scheduler's figures come later.
  const auto add = [&figures](const char* key, std::string value) {
    if (std::none_of(figures.begin(), figures.end(),
                     [key](const auto& figure) { return figure.first == key; })) {
      figures.emplace_back(key, std::move(value));
    }
  };
  for (const auto& received : scenario->scheduler_events()) {
    const auto& event = received.event;
    if (event.kind() == wire::SchedulerEvent::ATTACHED && event.attach_us() != 0) {
      add("scheduler_attach_us", std::to_string(event.attach_us()));
    }
    // STOPPED comes first, at detection; DIED when the kernel gave its reason.
    if (event.kind() == wire::SchedulerEvent::STOPPED || event.kind() == wire::SchedulerEvent::DIED) {
      add("scheduler_detected_guest_us", std::to_string(event.detected_us()));
      if (received.received_guest_us) {
        add("scheduler_received_guest_us", std::to_string(*received.received_guest_us));
      }
    }
    if (event.kind() == wire::SchedulerEvent::DIED) {
      add("scheduler_death", wire::Detail::Kind_Name(event.detail()));
    }
  }
  return figures;
}

void write_result(const std::filesystem::path& run_dir, const SessionResult& session, const RunKernel& kernel,
                  Accelerator accelerator, const ScenarioDriver* scenario) {
  if (session.hello) {
    std::string text;
    google::protobuf::TextFormat::PrintToString(*session.hello, &text);
    std::ofstream(run_dir / "hello.txt") << text;
  }
  const auto& verdict = session.classification;
  std::vector<std::pair<std::string, std::string>> values{
      {"outcome", std::string{to_string(verdict.outcome)}},
      {"exit_code", std::to_string(exit_code(verdict.outcome))},
      {"reason", verdict.reason},
      {"kernel", kernel.image.string()},
      {"kernel_release", kernel.release},
      {"accelerator", std::string{to_string(accelerator)}},
      {"qemu_exit", session.qemu_exit},
      {"qemu_start_to_first_console_us", micros(session.first_console_after)},
      {"qemu_start_to_hello_us", micros(session.hello_after)},
      {"qemu_start_to_exit_us", std::to_string(session.total.count())}};
  const auto figures = scheduler_figures(scenario);
  values.insert(values.end(), figures.begin(), figures.end());
  auto written = write_key_values(run_dir / "result.txt", values);
  if (!written) {
    spdlog::warn("{}", written.error().message);
  }
}

void print_summary(const SessionResult& session, const std::filesystem::path& run_dir) {
  const auto& verdict = session.classification;
  if (verdict.outcome != Outcome::kPass && !session.console_tail.empty()) {
    fmt::print("--- last lines of the console ---\n");
    for (const auto& line : session.console_tail) {
      fmt::print("{}\n", line);
    }
    fmt::print("---\n");
  }
  fmt::print("outcome: {} ({})\n", to_string(verdict.outcome), verdict.reason);
  if (session.hello_after) {
    fmt::print("timing: Hello {} after QEMU start, total {}\n", seconds(*session.hello_after),
               seconds(session.total));
  } else {
    fmt::print("timing: total {}\n", seconds(session.total));
  }
  fmt::print("logs: {}\n", run_dir.string());
  std::fflush(stdout);
}

}  // namespace

Outcome run_job(const RunOptions& options, const HostContext& context) {
  const VmTopology topology = options.topology.value_or(flat_vm_topology(options.smp));
  result::RunMetadata metadata = start_metadata(std::chrono::system_clock::now());
  metadata.set_topology(describe(topology));
  std::optional<std::filesystem::path> documents_dir;  // the run directory, once it exists
  // Setup failures still leave their result documents.
  auto fail_setup = [&](Outcome outcome, const std::string& message) {
    spdlog::error("{}", message);
    fmt::print("outcome: {} ({})\n", to_string(outcome), message);
    ResultInputs inputs{metadata,
                        Classification{outcome, message},
                        nullptr,
                        documents_dir.value_or(std::filesystem::path{}),
                        {}};
    write_documents(options, assemble_result(inputs), documents_dir);
    return outcome;
  };

  // Before anything is fetched or booted: a bad scenario is the user's to fix.
  auto plan = plan_scenario(options, expected_topology(topology), find_bundled_scheduler(context.self_dir));
  if (!plan) {
    return fail_setup(Outcome::kUsageError, plan.error().message);
  }
  add_plan(metadata, *plan);

  auto kernel = prepare_run_kernel(options, context);
  if (!kernel) {
    return fail_setup(kernel.error().outcome, kernel.error().message);
  }
  add_kernel(metadata, *kernel);

  if (plan->needs_sched_ext && kernel->config && !kernel->sched_ext) {
    return fail_setup(Outcome::kKernelUnsupported,
                      fmt::format("the kernel lacks sched_ext (its config {} misses what sched_ext needs): "
                                  "cannot run a sched_ext scheduler on it",
                                  kernel->config->string()));
  }

  std::filesystem::path agent_path;
  if (options.agent) {
    agent_path = *options.agent;
  } else {
    auto found = find_agent(context.self_dir);
    if (!found) {
      return fail_setup(Outcome::kInfrastructureError, found.error().message);
    }
    agent_path = *found;
  }

  InitramfsSpec image_spec;
  image_spec.entries.push_back(InitramfsEntry{agent_path, "init", 0755});
  image_spec.entries.insert(image_spec.entries.end(), plan->payload_entries.begin(),
                            plan->payload_entries.end());
  if (plan->needs_sched_ext && kernel->config && !kernel->release.empty()) {
    // Schedulers built with libbpf's __kconfig externs read
    // /boot/config-$(uname -r); Debian kernels have no /proc/config.gz.
    image_spec.entries.push_back(InitramfsEntry{*kernel->config, "boot/config-" + kernel->release, 0644});
  }
  image_spec.compression = kernel->compression;
  auto image = build_initramfs(image_spec, context.cache_dir);
  if (!image) {
    // A missing or unreadable --agent is the user's to fix.
    return fail_setup(options.agent ? Outcome::kUsageError : Outcome::kInfrastructureError,
                      image.error().message);
  }
  spdlog::info("initramfs {} ({})", image->path.string(), image->cache_hit ? "cached" : "built");

  auto run_dir = create_run_directory(options.run_dir, context.runs_root, std::chrono::system_clock::now(),
                                      static_cast<int>(::getpid()));
  if (!run_dir) {
    return fail_setup(Outcome::kInfrastructureError, run_dir.error().message);
  }
  documents_dir = *run_dir;
  auto private_dir = PrivateDir::create(context.temp_dir, "kstep-vm-");
  if (!private_dir) {
    return fail_setup(Outcome::kInfrastructureError, private_dir.error().message);
  }
  auto qemu = find_qemu(context.path_env.c_str());
  if (!qemu) {
    return fail_setup(Outcome::kInfrastructureError, qemu.error().message);
  }

  VmSpec vm;
  vm.qemu = *qemu;
  vm.accelerator = choose_accelerator(options.accel);
  metadata.set_accelerator(std::string{to_string(vm.accelerator)});
  vm.kernel = kernel->image;
  vm.kernel_format = kernel->format;
  if (kernel->format == KernelFormat::Vmlinux) {
    vm.firmware = find_qboot();
  }
  vm.initrd = image->path;
  vm.smp = topology.cpus();
  if (options.topology) {
    vm.topology = topology;
  }
  vm.memory_mib = options.memory_mib;
  vm.append = options.append;
  vm.control_socket = private_dir->path() / "control.sock";
  auto argv = build_qemu_argv(vm);
  if (!argv) {
    return fail_setup(Outcome::kUsageError, argv.error().message);
  }
  spdlog::info("booting {} ({}, {}, {}, {} MiB)",
               kernel->release.empty() ? vm.kernel.string() : kernel->release, to_string(vm.kernel_format),
               to_string(vm.accelerator), describe(topology), vm.memory_mib);
  spdlog::debug("qemu: {}", fmt::join(*argv, " "));

  SessionLaunch launch{*argv, vm.control_socket, *run_dir};
  SessionOptions session_options;
  session_options.inactivity_timeout = options.timeout;
  session_options.echo_console = options.console;
  HandshakeDriver handshake;
  std::optional<ScenarioDriver> scenario;
  if (plan->run) {
    MapHandshakeOptions maps;
    maps.writes.assign(plan->run->scenario().bpf_writes().begin(), plan->run->scenario().bpf_writes().end());
    maps.accessor_timeout = options.accessor_timeout;
    maps.resolve_timeout = options.resolve_timeout;
    scenario.emplace(*plan->run, *run_dir, std::cerr, std::move(maps));
  }
  GuestDriver& driver = scenario ? static_cast<GuestDriver&>(*scenario) : handshake;
  auto session = run_guest_session(launch, session_options, driver);
  if (!session) {
    return fail_setup(Outcome::kInfrastructureError,
                      fmt::format("{} (logs: {})", session.error().message, run_dir->string()));
  }
  if (session->hello) {
    spdlog::info("guest: {}", describe(session->hello->topology()));
  }
  if (scenario) {
    // Whatever arrived is kept, also when the run failed midway.
    if (auto written = write_scenario_files(*run_dir, plan->run->scenario(), scenario->record()); !written) {
      spdlog::warn("{}", written.error().message);
    }
    fmt::print("{}", render_step_table(plan->run->scenario(), scenario->record()));
  }
  write_result(*run_dir, *session, *kernel, vm.accelerator, scenario ? &*scenario : nullptr);
  write_documents(options,
                  assemble_result(ResultInputs{metadata, session->classification,
                                               scenario ? &*scenario : nullptr, *run_dir, session->total}),
                  *run_dir);
  print_summary(*session, *run_dir);
  return session->classification.outcome;
}

}  // namespace kstep::host
