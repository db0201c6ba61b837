// Payload bundles: a payload binary plus everything it needs to run in the
// guest, as initramfs entries.
//
// The layout lets a dynamic binary run in the guest as-is, with no
// LD_LIBRARY_PATH and no ld.so.cache:
//   - the binary at payloads/<name>/<basename> (basename as invoked, so a
//     multi-call binary still sees its name in argv[0]);
//   - its ELF interpreter (PT_INTERP) at the same absolute path as on the host;
//   - every DT_NEEDED library, recursively, at the path the host's dynamic
//     loader would open it by: DT_RPATH chain (when there is no DT_RUNPATH),
//     DT_RUNPATH, then `library_dirs`. The entry's source is the real file
//     (symlinks resolved), its destination the name searched, e.g.
//     lib/x86_64-linux-gnu/libc.so.6 from /usr/lib/x86_64-linux-gnu/libc.so.6.
//     $ORIGIN in a run path is expanded on both sides: for the binary, the
//     host's $ORIGIN is the real binary's directory and the guest's is
//     /payloads/<name>, so libraries found through it are placed where the
//     guest's loader will look.
// A static binary is just the binary. ELF headers are read with libelf.
//
// Limits: libraries are found where the loader's default path finds them in
// the guest only if `library_dirs` are directories the interpreter searches
// by itself (on Debian: /lib/<triplet>, /usr/lib/<triplet>, /lib, /usr/lib);
// a library the host found through ld.so.conf (/usr/local/lib, ...) is packed
// but would need LD_LIBRARY_PATH in the guest. $LIB and $PLATFORM tokens and
// relative run paths are skipped. dlopen()ed libraries are not seen.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "host/initramfs/initramfs_archive.hpp"

namespace kstep::host {

struct PayloadFiles {
  std::string guest_path;               // "/payloads/<name>/<basename>": what the guest executes
  std::vector<InitramfsEntry> entries;  // the binary first, then its interpreter and libraries
};

// x86-64 Debian/Ubuntu and Fedora-style locations, in search order.
[[nodiscard]] std::vector<std::filesystem::path> default_library_dirs();

// `name` is the PayloadDecl name (one path component). `program` is a path
// (it contains a '/') or a name looked up in $PATH.
[[nodiscard]] Result<PayloadFiles> bundle_payload(
    std::string_view name, std::string_view program,
    const std::vector<std::filesystem::path>& library_dirs = default_library_dirs());

// Appends `more` to `into`, dropping entries already there (same
// destination, same file, same mode), so payloads that share libc can be
// packed together. The same destination from a different file or with a
// different mode is a conflict: an error, and `into` is left unchanged.
[[nodiscard]] Result<void> merge_entries(std::vector<InitramfsEntry>& into,
                                         const std::vector<InitramfsEntry>& more);

}  // namespace kstep::host
