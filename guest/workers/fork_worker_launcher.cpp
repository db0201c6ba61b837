#include "guest/workers/fork_worker_launcher.hpp"

#include <utility>

#include "guest/workers/fork_worker_group.hpp"
#include "guest/workers/shared_region.hpp"
#include "guest/workers/work_loops.hpp"
#include "guest/workers/worker_settings.hpp"

namespace kstep::guest {

Result<std::unique_ptr<WorkerGroup>> ForkWorkerLauncher::spawn(const WorkerRequest& request) {
  const std::string what = fmt::format("starting {} workers in cgroup '{}'", request.count, request.cgroup);
  const auto failed = [&](const Error& error) { return Unexpected{error.context(what)}; };

  auto settings = workers::plan_settings(request.config);
  if (!settings) {
    return failed(settings.error());
  }
  auto work = workers::plan_work(request.config);
  if (!work) {
    return failed(work.error());
  }
  auto region = workers::SharedRegion::create(request.count);
  if (!region) {
    return failed(region.error());
  }
  // From here on the group's destructor kills and reaps whatever was forked.
  auto group = std::make_unique<workers::ForkWorkerGroup>(std::move(region).value(), work->work);
  for (unsigned i = 0; i < request.count; ++i) {
    auto pid = group->fork_worker(*settings, *work);
    if (!pid) {
      return failed(pid.error());
    }
    if (auto placed = place_(*pid, request.cgroup); !placed) {
      return failed(placed.error().context(
          fmt::format("placing worker {} (pid {}) in cgroup '{}'", i, *pid, request.cgroup)));
    }
  }
  if (auto released = group->release(*settings, *work, kSetupTimeout); !released) {
    return failed(released.error());
  }
  return std::unique_ptr<WorkerGroup>{std::move(group)};
}

}  // namespace kstep::guest
