// Fake sysfs/procfs trees for the Guest* tests: a temp dir removed on
// destruction, plus builders for the files the guest readers look at.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

#include "guest/hello.hpp"

namespace kstep::guest::testing {

class TempTree {
 public:
  TempTree() {
    std::string pattern = (std::filesystem::temp_directory_path() / "kstep-guest-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp failed";
    }
    root_ = pattern;
  }
  TempTree(const TempTree&) = delete;
  TempTree& operator=(const TempTree&) = delete;
  ~TempTree() {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }

  [[nodiscard]] const std::filesystem::path& root() const { return root_; }

  // Writes root/relative, creating parent directories.
  void write(const std::filesystem::path& relative, const std::string& content) const {
    const auto path = root_ / relative;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream out{path, std::ios::binary | std::ios::trunc};
    out << content;
    ASSERT_TRUE(out.good()) << path;
  }

  void mkdir(const std::filesystem::path& relative) const {
    std::filesystem::create_directories(root_ / relative);
  }

  // Roots pointing into this tree: proc/, sys/, dev/, sys/fs/cgroup/.
  [[nodiscard]] SystemRoots roots() const {
    return SystemRoots{root_ / "proc", root_ / "sys", root_ / "dev", root_ / "sys" / "fs" / "cgroup"};
  }

 private:
  std::filesystem::path root_;
};

// One CPU in a fake sysfs: topology ids and the CPU list of its caches. Each
// CPU gets a private L1 (index0, level 1), an L2 shared as `l2` says
// (index2) and, when `l3` is not empty, an L3 (index3).
struct FakeCpu {
  unsigned cpu;
  unsigned package;
  unsigned core;
  std::string l2;
  std::string l3;
};

inline void add_cpu(const TempTree& tree, const FakeCpu& cpu) {
  const std::filesystem::path dir =
      std::filesystem::path{"sys/devices/system/cpu"} / ("cpu" + std::to_string(cpu.cpu));
  tree.write(dir / "topology/physical_package_id", std::to_string(cpu.package) + "\n");
  tree.write(dir / "topology/core_id", std::to_string(cpu.core) + "\n");
  tree.write(dir / "cache/index0/level", "1\n");
  tree.write(dir / "cache/index0/shared_cpu_list", std::to_string(cpu.cpu) + "\n");
  tree.write(dir / "cache/index2/level", "2\n");
  tree.write(dir / "cache/index2/shared_cpu_list", cpu.l2 + "\n");
  if (!cpu.l3.empty()) {
    tree.write(dir / "cache/index3/level", "3\n");
    tree.write(dir / "cache/index3/shared_cpu_list", cpu.l3 + "\n");
  }
}

inline void set_online(const TempTree& tree, const std::string& list) {
  tree.write("sys/devices/system/cpu/online", list + "\n");
}

inline void add_node(const TempTree& tree, unsigned node, const std::string& cpulist) {
  tree.write(std::filesystem::path{"sys/devices/system/node"} / ("node" + std::to_string(node)) / "cpulist",
             cpulist + "\n");
}

}  // namespace kstep::guest::testing
