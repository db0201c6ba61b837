// initramfs-bench: cold and warm initramfs build times.
//
//   initramfs-bench FILE...
//
// Packs the given files (the first as /init) into an image in a fresh cache
// directory (cold: hash, archive, compress, write), then asks for the same
// image again many times (warm: stat the inputs, find the cached image).
// Prints `key value` lines; scripts/bench turns them into ratios.
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "host/initramfs/initramfs_cache.hpp"
#include "tests/bench/bench_timing.hpp"

namespace {

using kstep::bench::Clock;
using kstep::bench::median;
using kstep::bench::ms_since;

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: initramfs-bench FILE...\n");
    return 2;
  }
  kstep::host::InitramfsSpec spec;
  std::uintmax_t input_bytes = 0;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path file{argv[i]};
    spec.entries.push_back({file, i == 1 ? "init" : "bin/" + file.filename().string(), 0755});
    input_bytes += std::filesystem::file_size(file);
  }
  std::vector<double> cold;
  std::vector<double> warm;
  for (int round = 0; round < 3; ++round) {
    std::string pattern = (std::filesystem::temp_directory_path() / "kstep-initramfs-bench-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      std::perror("mkdtemp");
      return 1;
    }
    const std::filesystem::path cache{pattern};
    auto start = Clock::now();
    auto image = kstep::host::build_initramfs(spec, cache);
    cold.push_back(ms_since(start));
    if (!image || image->cache_hit) {
      std::fprintf(stderr, "cold build failed or hit: %s\n", image ? "hit" : image.error().message.c_str());
      return 1;
    }
    for (int i = 0; i < 20; ++i) {
      start = Clock::now();
      auto again = kstep::host::build_initramfs(spec, cache);
      warm.push_back(ms_since(start));
      if (!again || !again->cache_hit) {
        std::fprintf(stderr, "warm build missed the cache\n");
        return 1;
      }
    }
    std::filesystem::remove_all(cache);
  }
  std::printf("initramfs.input_bytes %ju\n", input_bytes);
  std::printf("initramfs.cold_ms %.2f\n", median(cold));
  std::printf("initramfs.warm_ms %.3f\n", median(warm));
  return 0;
}
