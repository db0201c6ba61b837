#include "tests/vm/kstep_process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace kstep::vmtest {
namespace {

std::vector<int> children_of(int parent) {
  std::vector<int> pids;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) {
    return pids;
  }
  while (const dirent* entry = ::readdir(proc)) {
    const std::string name = entry->d_name;
    if (name.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    std::ifstream stat("/proc/" + name + "/stat");
    std::string line;
    std::getline(stat, line);
    const auto close = line.rfind(')');
    if (close == std::string::npos) {
      continue;
    }
    std::istringstream fields(line.substr(close + 2));
    std::string state;
    int ppid = 0;
    fields >> state >> ppid;
    if (ppid == parent && state != "Z") {
      pids.push_back(std::stoi(name));
    }
  }
  ::closedir(proc);
  return pids;
}

}  // namespace

KstepRun run_kstep(const std::vector<std::string>& args,
                   std::optional<std::chrono::milliseconds> interrupt_after) {
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  std::array<int, 2> out{};
  if (::pipe2(out.data(), O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe2 failed");
  }
  std::vector<std::string> argv_storage{KSTEP_BINARY};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& arg : argv_storage) {
    argv.push_back(arg.data());
  }
  argv.push_back(nullptr);

  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(out[1], STDERR_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  KstepRun run;
  const auto started = std::chrono::steady_clock::now();
  bool interrupted = false;
  std::array<char, 4096> buffer{};
  for (;;) {
    pollfd pfd{out[0], POLLIN, 0};
    ::poll(&pfd, 1, 100);
    if (!interrupted && interrupt_after && std::chrono::steady_clock::now() - started >= *interrupt_after) {
      ::kill(pid, SIGINT);
      interrupted = true;
    }
    if ((pfd.revents & (POLLIN | POLLHUP)) != 0) {
      const ssize_t n = ::read(out[0], buffer.data(), buffer.size());
      if (n <= 0) {
        break;
      }
      run.output.append(buffer.data(), static_cast<std::size_t>(n));
    }
  }
  ::close(out[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  // Anything kstep left behind is now our child (subreaper); record and
  // clean it up so one failing test does not leak VMs into the next.
  run.leftover_processes = children_of(::getpid());
  for (int leftover : run.leftover_processes) {
    ::kill(leftover, SIGKILL);
    ::waitpid(leftover, nullptr, 0);
  }
  return run;
}

}  // namespace kstep::vmtest
