#include "host/initramfs/payload_bundle.hpp"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <system_error>

#include <fmt/format.h>

#include "common/unique_fd.hpp"

namespace kstep::host {

namespace {

namespace fs = std::filesystem;

// What the loader needs to know about one ELF file.
struct ElfInfo {
  unsigned elf_class = 0;  // ELFCLASS32 / ELFCLASS64
  unsigned machine = 0;    // EM_X86_64, ...
  unsigned type = 0;       // ET_EXEC, ET_DYN, ...
  std::optional<std::string> interpreter;
  std::optional<std::string> soname;
  std::vector<std::string> needed;
  std::optional<std::string> rpath;  // raw, ':'-separated
  std::optional<std::string> runpath;
};

struct ElfEnd {
  void operator()(Elf* elf) const noexcept { elf_end(elf); }
};

// A NUL-terminated string inside `data` at `offset`, bounds-checked.
std::optional<std::string> string_at(const Elf_Data* data, std::uint64_t offset) {
  if (data == nullptr || data->d_buf == nullptr || offset >= data->d_size) {
    return std::nullopt;
  }
  const auto* begin = static_cast<const char*>(data->d_buf) + offset;
  const auto* end = static_cast<const char*>(std::memchr(begin, '\0', data->d_size - offset));
  if (end == nullptr) {
    return std::nullopt;
  }
  return std::string{begin, end};
}

// File offset of the virtual address `addr`, through the PT_LOAD segments
// (the dynamic section names its string table by address, not offset).
std::optional<std::uint64_t> file_offset(const std::vector<GElf_Phdr>& phdrs, std::uint64_t addr) {
  for (const auto& phdr : phdrs) {
    if (phdr.p_type == PT_LOAD && addr >= phdr.p_vaddr && addr - phdr.p_vaddr < phdr.p_filesz) {
      return addr - phdr.p_vaddr + phdr.p_offset;
    }
  }
  return std::nullopt;
}

Result<void> read_dynamic(Elf* elf, const std::vector<GElf_Phdr>& phdrs, const GElf_Phdr& dynamic,
                          ElfInfo& info) {
  Elf_Data* dyn =
      elf_getdata_rawchunk(elf, static_cast<int64_t>(dynamic.p_offset), dynamic.p_filesz, ELF_T_DYN);
  if (dyn == nullptr) {
    return fail("its dynamic segment is outside the file");
  }
  std::optional<std::uint64_t> strtab;
  std::uint64_t strsz = 0;
  std::vector<std::pair<std::int64_t, std::uint64_t>> strings;  // (tag, offset in strtab)
  GElf_Dyn entry{};
  for (int i = 0; gelf_getdyn(dyn, i, &entry) != nullptr && entry.d_tag != DT_NULL; ++i) {
    switch (entry.d_tag) {
      case DT_STRTAB: strtab = entry.d_un.d_ptr; break;
      case DT_STRSZ: strsz = entry.d_un.d_val; break;
      case DT_NEEDED:
      case DT_SONAME:
      case DT_RPATH:
      case DT_RUNPATH: strings.emplace_back(entry.d_tag, entry.d_un.d_val); break;
      default: break;
    }
  }
  if (strings.empty()) {
    return {};  // static-pie: a dynamic segment for self-relocation, nothing to load
  }
  const auto strtab_offset = strtab ? file_offset(phdrs, *strtab) : std::nullopt;
  Elf_Data* str = strtab_offset && strsz > 0
                      ? elf_getdata_rawchunk(elf, static_cast<int64_t>(*strtab_offset), strsz, ELF_T_BYTE)
                      : nullptr;
  if (str == nullptr) {
    return fail("its dynamic string table is missing or outside the file");
  }
  for (const auto& [tag, offset] : strings) {
    auto text = string_at(str, offset);
    if (!text) {
      return fail("a dynamic entry points outside its string table");
    }
    switch (tag) {
      case DT_NEEDED: info.needed.push_back(std::move(*text)); break;
      case DT_SONAME: info.soname = std::move(*text); break;
      case DT_RPATH: info.rpath = std::move(*text); break;
      default: info.runpath = std::move(*text); break;
    }
  }
  return {};
}

// Reads the program headers and the dynamic segment of `path`. Errors say
// what the file is instead, for a user who named the wrong thing.
Result<ElfInfo> read_elf(const fs::path& path) {
  const UniqueFd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (!fd) {
    return fail("cannot open {}: {}", path.string(), std::strerror(errno));
  }
  std::array<char, 128> head{};
  const ssize_t n = ::pread(fd.get(), head.data(), head.size() - 1, 0);
  if (n >= 2 && head[0] == '#' && head[1] == '!') {
    const std::string_view first_line{head.data(), std::strcspn(head.data(), "\n")};
    return fail("{} is a script ({}), not an ELF binary: only ELF executables can be payloads", path.string(),
                first_line);
  }
  if (n < 4 || std::memcmp(head.data(), ELFMAG, SELFMAG) != 0) {
    return fail("{} is not an ELF binary", path.string());
  }
  if (elf_version(EV_CURRENT) == EV_NONE) {
    return fail("libelf: {}", elf_errmsg(-1));
  }
  const std::unique_ptr<Elf, ElfEnd> elf{elf_begin(fd.get(), ELF_C_READ_MMAP, nullptr)};
  GElf_Ehdr ehdr{};
  if (!elf || elf_kind(elf.get()) != ELF_K_ELF || gelf_getehdr(elf.get(), &ehdr) == nullptr) {
    return fail("{}: malformed ELF file: {}", path.string(), elf_errmsg(-1));
  }
  ElfInfo info;
  info.elf_class = ehdr.e_ident[EI_CLASS];
  info.machine = ehdr.e_machine;
  info.type = ehdr.e_type;
  std::size_t count = 0;
  if (elf_getphdrnum(elf.get(), &count) != 0) {
    return fail("{}: malformed ELF program headers: {}", path.string(), elf_errmsg(-1));
  }
  std::vector<GElf_Phdr> phdrs(count);
  for (std::size_t i = 0; i < count; ++i) {
    if (gelf_getphdr(elf.get(), static_cast<int>(i), &phdrs[i]) == nullptr) {
      return fail("{}: malformed ELF program header {}: {}", path.string(), i, elf_errmsg(-1));
    }
  }
  for (const auto& phdr : phdrs) {
    if (phdr.p_type == PT_INTERP) {
      Elf_Data* data =
          elf_getdata_rawchunk(elf.get(), static_cast<int64_t>(phdr.p_offset), phdr.p_filesz, ELF_T_BYTE);
      info.interpreter = string_at(data, 0);
      if (!info.interpreter || info.interpreter->empty()) {
        return fail("{}: malformed PT_INTERP segment", path.string());
      }
    } else if (phdr.p_type == PT_DYNAMIC) {
      if (auto read = read_dynamic(elf.get(), phdrs, phdr, info); !read) {
        return Unexpected{read.error().context(path.string())};
      }
    }
  }
  return info;
}

std::uint32_t permission_bits(const fs::path& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint32_t>(st.st_mode) & 0777U : 0644U;
}

// "lib/x86_64-linux-gnu/libc.so.6" from "/lib/x86_64-linux-gnu/./libc.so.6".
std::string destination_of(const fs::path& absolute) {
  std::string normal = absolute.lexically_normal().string();
  const auto start = normal.find_first_not_of('/');
  return start == std::string::npos ? std::string{} : normal.substr(start);
}

bool regular_file_exists(const fs::path& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

Result<fs::path> find_program(std::string_view name, std::string_view program) {
  if (program.empty()) {
    return fail("payload '{}': no program given", name);
  }
  if (program.find('/') != std::string_view::npos) {
    if (!regular_file_exists(program)) {
      return fail("payload '{}': program '{}' does not exist or is not a regular file", name, program);
    }
    return fs::path{program};
  }
  const char* path_env = std::getenv("PATH");  // NOLINT(concurrency-mt-unsafe): read-only
  const std::string_view search = path_env != nullptr ? path_env : "";
  for (std::size_t begin = 0; begin <= search.size();) {
    const auto end = std::min(search.find(':', begin), search.size());
    const auto dir = search.substr(begin, end - begin);
    begin = end + 1;
    if (dir.empty()) {
      continue;  // an empty entry means the working directory: not a place for payloads
    }
    const fs::path candidate = fs::path{dir} / program;
    if (regular_file_exists(candidate) && ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return fail("payload '{}': program '{}' not found in PATH", name, program);
}

// One directory to search: where it is on the host, and where the same
// files will be in the guest (they differ only under the binary's $ORIGIN).
struct SearchDir {
  std::string host;
  std::string guest;
};

// A run path (DT_RPATH/DT_RUNPATH) with $ORIGIN expanded on both sides.
std::vector<SearchDir> expand_run_path(const std::optional<std::string>& raw, const SearchDir& origin) {
  std::vector<SearchDir> dirs;
  if (!raw) {
    return dirs;
  }
  const auto expand = [](std::string text, const std::string& value) {
    for (const std::string_view token : {"${ORIGIN}", "$ORIGIN"}) {
      for (auto at = text.find(token); at != std::string::npos; at = text.find(token, at + value.size())) {
        text.replace(at, token.size(), value);
      }
    }
    return text;
  };
  std::string_view rest = *raw;
  for (std::size_t begin = 0; begin <= rest.size();) {
    const auto end = std::min(rest.find(':', begin), rest.size());
    const std::string entry{rest.substr(begin, end - begin)};
    begin = end + 1;
    SearchDir dir{expand(entry, origin.host), expand(entry, origin.guest)};
    // Other tokens ($LIB, $PLATFORM) and relative entries (the loader would
    // use its working directory) cannot be mapped into the guest.
    if (dir.host.empty() || dir.host.front() != '/' || dir.host.find('$') != std::string::npos) {
      continue;
    }
    dirs.push_back(std::move(dir));
  }
  return dirs;
}

// An object whose DT_NEEDED entries are still to be resolved.
struct Pending {
  std::string display;  // its host path, for messages
  ElfInfo info;
  // DT_RPATHs of this object and the objects that loaded it, in the order
  // the loader tries them (used only when this object has no DT_RUNPATH).
  std::vector<SearchDir> rpath_chain;
  SearchDir origin;
};

struct FoundLibrary {
  fs::path searched;  // as the loader opens it on the host
  std::string destination;
  fs::path real;
  ElfInfo info;
};

// Like the loader: the first candidate that is an ELF file of the same
// class and machine as `wanted`; incompatible ones are skipped.
std::optional<FoundLibrary> find_library(const std::string& needed, const std::vector<SearchDir>& dirs,
                                         const ElfInfo& wanted) {
  for (const auto& dir : dirs) {
    const fs::path host = fs::path{dir.host} / needed;
    if (!regular_file_exists(host)) {
      continue;
    }
    std::error_code ec;
    auto real = fs::canonical(host, ec);
    if (ec) {
      continue;
    }
    auto info = read_elf(real);
    if (!info || info->elf_class != wanted.elf_class || info->machine != wanted.machine) {
      continue;
    }
    return FoundLibrary{host, destination_of(fs::path{dir.guest} / needed), std::move(real),
                        std::move(*info)};
  }
  return std::nullopt;
}

std::string describe_dirs(const std::vector<SearchDir>& dirs) {
  if (dirs.empty()) {
    return "(no directory to search)";
  }
  std::string text;
  for (const auto& dir : dirs) {
    text += text.empty() ? dir.host : ", " + dir.host;
  }
  return text;
}

bool valid_name(std::string_view name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string_view::npos;
}

}  // namespace

std::vector<fs::path> default_library_dirs() {
  return {"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"};
}

Result<PayloadFiles> bundle_payload(std::string_view name, std::string_view program,
                                    const std::vector<fs::path>& library_dirs) {
  if (!valid_name(name)) {
    return fail("payload '{}': the name must be one path component (no '/', not '.' or '..')", name);
  }
  auto found = find_program(name, program);
  if (!found) {
    return Unexpected{std::move(found).error()};
  }
  std::error_code ec;
  const fs::path real = fs::canonical(*found, ec);
  if (ec) {
    return fail("payload '{}': resolving {}: {}", name, found->string(), ec.message());
  }
  const auto context = [name](const Error& error) {
    return Unexpected{error.context(fmt::format("payload '{}'", name))};
  };
  auto binary = read_elf(real);
  if (!binary) {
    return context(binary.error());
  }
  if (binary->type != ET_EXEC && binary->type != ET_DYN) {
    return fail("payload '{}': {} is an ELF file but not an executable", name, real.string());
  }

  PayloadFiles files;
  const std::string guest_dir = fmt::format("/payloads/{}", name);
  files.guest_path = fmt::format("{}/{}", guest_dir, found->filename().string());
  std::vector<InitramfsEntry> entries{{real, destination_of(files.guest_path), 0755}};

  // Names the loader will not search for again: it matches DT_NEEDED
  // against what is loaded already (the interpreter satisfies libc's
  // DT_NEEDED on ld-linux-x86-64.so.2).
  std::set<std::string> loaded;
  if (binary->interpreter) {
    const fs::path interpreter{*binary->interpreter};
    const fs::path interpreter_real = fs::canonical(interpreter, ec);
    if (ec || interpreter.is_relative()) {
      return fail("payload '{}': {} needs the interpreter {}, which is not on this machine", name,
                  real.string(), interpreter.string());
    }
    entries.push_back({interpreter_real, destination_of(interpreter), permission_bits(interpreter_real)});
    loaded.insert(interpreter.filename().string());
    if (auto info = read_elf(interpreter_real); info && info->soname) {
      loaded.insert(*info->soname);
    }
  }

  std::vector<SearchDir> defaults;
  for (const auto& dir : library_dirs) {
    defaults.push_back({dir.string(), dir.string()});
  }
  std::deque<Pending> queue;
  {
    // The loader's $ORIGIN for the executable is its real directory; in the
    // guest that is /payloads/<name>.
    const SearchDir origin{real.parent_path().string(), guest_dir};
    auto chain = binary->runpath ? std::vector<SearchDir>{} : expand_run_path(binary->rpath, origin);
    queue.push_back({real.string(), std::move(*binary), std::move(chain), origin});
  }
  // Breadth first, as the loader maps dependencies.
  while (!queue.empty()) {
    Pending object = std::move(queue.front());
    queue.pop_front();
    std::vector<SearchDir> dirs = object.info.runpath ? std::vector<SearchDir>{} : object.rpath_chain;
    const auto runpath = expand_run_path(object.info.runpath, object.origin);
    dirs.insert(dirs.end(), runpath.begin(), runpath.end());
    dirs.insert(dirs.end(), defaults.begin(), defaults.end());
    for (const auto& needed : object.info.needed) {
      if (!loaded.insert(needed).second) {
        continue;
      }
      // A name with a '/' is a path the loader opens as is; a relative one
      // against its working directory, which means nothing in the guest.
      std::vector<SearchDir> where = dirs;
      std::string file = needed;
      if (needed.find('/') != std::string::npos) {
        const fs::path path{needed};
        where.clear();
        if (path.is_absolute()) {
          where.push_back({path.parent_path().string(), path.parent_path().string()});
          file = path.filename().string();
        }
      }
      auto library = find_library(file, where, object.info);
      if (!library) {
        return fail("payload '{}': {} needs {}, which is in none of: {}", name, object.display, needed,
                    describe_dirs(where));
      }
      entries.push_back({library->real, library->destination, permission_bits(library->real)});
      if (library->info.soname) {
        loaded.insert(*library->info.soname);
      }
      // A library's $ORIGIN is the directory it was opened from, the same
      // on both sides.
      const std::string dir = library->searched.parent_path().string();
      const SearchDir origin{dir, "/" + fs::path{library->destination}.parent_path().string()};
      auto chain =
          library->info.runpath ? std::vector<SearchDir>{} : expand_run_path(library->info.rpath, origin);
      chain.insert(chain.end(), object.rpath_chain.begin(), object.rpath_chain.end());
      queue.push_back({library->searched.string(), std::move(library->info), std::move(chain), origin});
    }
  }
  if (auto merged = merge_entries(files.entries, entries); !merged) {
    return context(merged.error());
  }
  return files;
}

Result<void> merge_entries(std::vector<InitramfsEntry>& into, const std::vector<InitramfsEntry>& more) {
  std::map<std::string, const InitramfsEntry*> by_destination;
  for (const auto& entry : into) {
    by_destination.emplace(destination_of(fs::path{"/"} / entry.destination), &entry);
  }
  std::vector<InitramfsEntry> added;
  added.reserve(more.size());
  for (const auto& entry : more) {
    const auto [it, inserted] =
        by_destination.emplace(destination_of(fs::path{"/"} / entry.destination), &entry);
    if (inserted) {
      added.push_back(entry);
      continue;
    }
    const InitramfsEntry& existing = *it->second;
    std::error_code ec;
    const bool same_file =
        existing.source == entry.source || fs::equivalent(existing.source, entry.source, ec);
    if (!same_file) {
      return fail("initramfs entry '{}' would come from both {} and {}", it->first, existing.source.string(),
                  entry.source.string());
    }
    if (existing.mode != entry.mode) {
      return fail("initramfs entry '{}' ({}) is wanted with mode {:o} and with mode {:o}", it->first,
                  entry.source.string(), existing.mode, entry.mode);
    }
  }
  into.insert(into.end(), added.begin(), added.end());
  return {};
}

}  // namespace kstep::host
