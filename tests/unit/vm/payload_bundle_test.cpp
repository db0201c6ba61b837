#include "host/initramfs/payload_bundle.hpp"

#include <elf.h>
#include <sys/stat.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "host/vm/private_dir.hpp"
#include "tests/unit/vm/vm_test_support.hpp"

namespace kstep::host {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::write_file;

// A minimal little-endian x86-64 ELF file: the header, and when it has
// dependencies a PT_LOAD covering the file, a string table and a PT_DYNAMIC
// with DT_NEEDED, DT_RUNPATH, DT_STRTAB and DT_STRSZ. Enough for a loader's
// view (and for libelf); it would not run.
std::string make_elf(std::uint16_t type, const std::vector<std::string>& needed = {},
                     const std::optional<std::string>& runpath = std::nullopt) {
  constexpr std::uint64_t kBase = 0x400000;
  Elf64_Ehdr ehdr{};
  std::memcpy(ehdr.e_ident, ELFMAG, SELFMAG);
  ehdr.e_ident[EI_CLASS] = ELFCLASS64;
  ehdr.e_ident[EI_DATA] = ELFDATA2LSB;
  ehdr.e_ident[EI_VERSION] = EV_CURRENT;
  ehdr.e_type = type;
  ehdr.e_machine = EM_X86_64;
  ehdr.e_version = EV_CURRENT;
  ehdr.e_ehsize = sizeof(Elf64_Ehdr);
  ehdr.e_phentsize = sizeof(Elf64_Phdr);
  if (needed.empty() && !runpath) {
    return {reinterpret_cast<const char*>(&ehdr), sizeof ehdr};
  }
  std::string strtab(1, '\0');
  std::vector<Elf64_Dyn> dyn;
  const auto add_string = [&](std::int64_t tag, const std::string& text) {
    dyn.push_back(Elf64_Dyn{tag, {strtab.size()}});
    strtab += text;
    strtab += '\0';
  };
  for (const auto& name : needed) {
    add_string(DT_NEEDED, name);
  }
  if (runpath) {
    add_string(DT_RUNPATH, *runpath);
  }
  const std::uint64_t strtab_offset = sizeof(Elf64_Ehdr) + 2 * sizeof(Elf64_Phdr);
  const std::uint64_t dyn_offset = (strtab_offset + strtab.size() + 7) & ~std::uint64_t{7};
  dyn.push_back(Elf64_Dyn{DT_STRTAB, {kBase + strtab_offset}});
  dyn.push_back(Elf64_Dyn{DT_STRSZ, {strtab.size()}});
  dyn.push_back(Elf64_Dyn{DT_NULL, {0}});
  const std::uint64_t size = dyn_offset + dyn.size() * sizeof(Elf64_Dyn);

  ehdr.e_phoff = sizeof(Elf64_Ehdr);
  ehdr.e_phnum = 2;
  Elf64_Phdr load{};
  load.p_type = PT_LOAD;
  load.p_vaddr = kBase;
  load.p_filesz = load.p_memsz = size;
  load.p_align = 0x1000;
  Elf64_Phdr dynamic{};
  dynamic.p_type = PT_DYNAMIC;
  dynamic.p_offset = dyn_offset;
  dynamic.p_vaddr = kBase + dyn_offset;
  dynamic.p_filesz = dynamic.p_memsz = dyn.size() * sizeof(Elf64_Dyn);
  dynamic.p_align = 8;

  std::string image(size, '\0');
  std::memcpy(image.data(), &ehdr, sizeof ehdr);
  std::memcpy(image.data() + sizeof ehdr, &load, sizeof load);
  std::memcpy(image.data() + sizeof ehdr + sizeof load, &dynamic, sizeof dynamic);
  std::memcpy(image.data() + strtab_offset, strtab.data(), strtab.size());
  std::memcpy(image.data() + dyn_offset, dyn.data(), dyn.size() * sizeof(Elf64_Dyn));
  return image;
}

// Just an ELF32 header: a library of the wrong class.
std::string make_elf32() {
  Elf32_Ehdr ehdr{};
  std::memcpy(ehdr.e_ident, ELFMAG, SELFMAG);
  ehdr.e_ident[EI_CLASS] = ELFCLASS32;
  ehdr.e_ident[EI_DATA] = ELFDATA2LSB;
  ehdr.e_ident[EI_VERSION] = EV_CURRENT;
  ehdr.e_type = ET_DYN;
  ehdr.e_machine = EM_386;
  ehdr.e_version = EV_CURRENT;
  ehdr.e_ehsize = sizeof(Elf32_Ehdr);
  return {reinterpret_cast<const char*>(&ehdr), sizeof ehdr};
}

const InitramfsEntry* find(const PayloadFiles& files, const std::string& destination) {
  for (const auto& entry : files.entries) {
    if (entry.destination == destination) {
      return &entry;
    }
  }
  return nullptr;
}

std::string without_root(const fs::path& path) {
  return path.string().substr(1);
}

class PayloadBundle : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = PrivateDir::create("/tmp", "kstep-bundle-test-");
    ASSERT_TRUE(dir.ok()) << dir.error().message;
    dir_.emplace(std::move(dir).value());
    root_ = fs::canonical(dir_->path());
  }

  // Writes `content` at root/relative (mode 0755), creating directories.
  fs::path put(const std::string& relative, const std::string& content) {
    const fs::path path = root_ / relative;
    fs::create_directories(path.parent_path());
    write_file(path, content);
    fs::permissions(path, fs::perms{0755});
    return path;
  }

  std::optional<PrivateDir> dir_;
  fs::path root_;
};

TEST_F(PayloadBundle, ADynamicBinaryComesWithItsInterpreterAndLibc) {
  auto files = bundle_payload("lister", "/bin/ls");
  ASSERT_TRUE(files.ok()) << files.error().message;
  EXPECT_EQ(files->guest_path, "/payloads/lister/ls");
  ASSERT_FALSE(files->entries.empty());
  EXPECT_EQ(files->entries[0].destination, "payloads/lister/ls");
  EXPECT_EQ(files->entries[0].source, fs::canonical("/bin/ls"));
  EXPECT_EQ(files->entries[0].mode, 0755U);

  const auto* interpreter = find(*files, "lib64/ld-linux-x86-64.so.2");
  ASSERT_NE(interpreter, nullptr);
  EXPECT_EQ(interpreter->source, fs::canonical("/lib64/ld-linux-x86-64.so.2"));
  const auto* libc = find(*files, "lib/x86_64-linux-gnu/libc.so.6");
  ASSERT_NE(libc, nullptr);
  EXPECT_EQ(libc->source, fs::canonical("/lib/x86_64-linux-gnu/libc.so.6"));
  // libc's own DT_NEEDED on the interpreter is satisfied by the interpreter.
  EXPECT_EQ(find(*files, "lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"), nullptr);
  for (const auto& entry : files->entries) {
    EXPECT_FALSE(fs::is_symlink(entry.source)) << entry.source;
    EXPECT_TRUE(fs::is_regular_file(entry.source)) << entry.source;
    EXPECT_NE(entry.destination.front(), '/') << entry.destination;
  }
  // Good input for the archive writer as it is.
  EXPECT_TRUE(normalize_entries(files->entries).ok());
}

TEST_F(PayloadBundle, AProgramNameIsLookedUpInPath) {
  auto files = bundle_payload("e", "env");
  ASSERT_TRUE(files.ok()) << files.error().message;
  EXPECT_EQ(files->guest_path, "/payloads/e/env");
}

TEST_F(PayloadBundle, AProgramNotInPathIsAnError) {
  auto files = bundle_payload("x", "kstep-no-such-program-anywhere");
  ASSERT_FALSE(files.ok());
  EXPECT_EQ(files.error().message, "payload 'x': program 'kstep-no-such-program-anywhere' not found in PATH");
}

TEST_F(PayloadBundle, AMissingPathIsAnError) {
  auto files = bundle_payload("x", (root_ / "nothing").string());
  ASSERT_FALSE(files.ok());
  EXPECT_THAT(files.error().message, HasSubstr("does not exist"));
}

TEST_F(PayloadBundle, AScriptIsAnError) {
  const auto script = put("run.sh", "#!/bin/sh\necho hi\n");
  auto files = bundle_payload("x", script.string());
  ASSERT_FALSE(files.ok());
  EXPECT_THAT(files.error().message, HasSubstr("payload 'x'"));
  EXPECT_THAT(files.error().message, HasSubstr("is a script (#!/bin/sh), not an ELF binary"));
}

TEST_F(PayloadBundle, AFileThatIsNotElfIsAnError) {
  const auto text = put("data.bin", "just some bytes");
  auto files = bundle_payload("x", text.string());
  ASSERT_FALSE(files.ok());
  EXPECT_THAT(files.error().message, HasSubstr("is not an ELF binary"));
}

TEST_F(PayloadBundle, TheNameMustBeOnePathComponent) {
  for (const char* name : {"", ".", "..", "a/b"}) {
    EXPECT_FALSE(bundle_payload(name, "/bin/ls").ok()) << name;
  }
}

TEST_F(PayloadBundle, AStaticBinaryIsJustTheBinary) {
  const auto binary = put("bin/static", make_elf(ET_EXEC));
  auto files = bundle_payload("s", binary.string(), {});
  ASSERT_TRUE(files.ok()) << files.error().message;
  ASSERT_EQ(files->entries.size(), 1U);
  EXPECT_EQ(files->entries[0].destination, "payloads/s/static");
  EXPECT_EQ(files->entries[0].source, binary);
}

TEST_F(PayloadBundle, AMissingLibraryIsNamedWithTheBinaryNeedingIt) {
  const auto binary = put("bin/prog", make_elf(ET_DYN, {"libkstep-missing.so.1"}));
  auto files = bundle_payload("p", binary.string(), {root_ / "lib"});
  ASSERT_FALSE(files.ok());
  EXPECT_THAT(files.error().message, HasSubstr(binary.string() + " needs libkstep-missing.so.1"));
  EXPECT_THAT(files.error().message, HasSubstr((root_ / "lib").string()));
}

TEST_F(PayloadBundle, LibrariesAreFoundRecursivelyAndPlacedWhereTheGuestLoaderLooks) {
  // prog -(RUNPATH $ORIGIN/../lib)-> libfake.so.1 -> libfake.so.1.2 (real)
  //                                    -(library_dirs)-> libdep.so.2
  const auto binary = put("bin/prog", make_elf(ET_DYN, {"libfake.so.1"}, "$ORIGIN/../lib"));
  const auto real_fake = put("lib/libfake.so.1.2", make_elf(ET_DYN, {"libdep.so.2"}));
  fs::create_symlink("libfake.so.1.2", root_ / "lib/libfake.so.1");
  const auto dep = put("sys/libdep.so.2", make_elf(ET_DYN));
  auto files = bundle_payload("p", binary.string(), {root_ / "empty", root_ / "sys"});
  ASSERT_TRUE(files.ok()) << files.error().message;
  ASSERT_EQ(files->entries.size(), 3U);
  EXPECT_EQ(files->entries[0].destination, "payloads/p/prog");
  // $ORIGIN of the binary is /payloads/p in the guest.
  EXPECT_EQ(files->entries[1].destination, "payloads/lib/libfake.so.1");
  EXPECT_EQ(files->entries[1].source, real_fake);
  EXPECT_EQ(files->entries[2].destination, without_root(dep));
  EXPECT_EQ(files->entries[2].source, dep);
}

TEST_F(PayloadBundle, ALibraryOfAnotherClassIsSkippedLikeTheLoaderDoes) {
  const auto binary = put("bin/prog", make_elf(ET_DYN, {"libdep.so.2"}));
  put("lib32/libdep.so.2", make_elf32());
  const auto good = put("lib64/libdep.so.2", make_elf(ET_DYN));
  auto files = bundle_payload("p", binary.string(), {root_ / "lib32", root_ / "lib64"});
  ASSERT_TRUE(files.ok()) << files.error().message;
  ASSERT_EQ(files->entries.size(), 2U);
  EXPECT_EQ(files->entries[1].source, good);
}

TEST_F(PayloadBundle, MergeDropsExactDuplicates) {
  auto ls = bundle_payload("ls", "/bin/ls");
  auto env = bundle_payload("env", "/usr/bin/env");
  ASSERT_TRUE(ls.ok() && env.ok());
  std::vector<InitramfsEntry> all = ls->entries;
  ASSERT_TRUE(merge_entries(all, env->entries).ok());
  ASSERT_TRUE(merge_entries(all, env->entries).ok());  // twice: nothing new
  EXPECT_TRUE(normalize_entries(all).ok());            // no duplicate destinations
  EXPECT_NE(std::find_if(all.begin(), all.end(),
                         [](const InitramfsEntry& e) { return e.destination == "payloads/env/env"; }),
            all.end());
  EXPECT_EQ(std::count_if(
                all.begin(), all.end(),
                [](const InitramfsEntry& e) { return e.destination == "lib/x86_64-linux-gnu/libc.so.6"; }),
            1);
}

TEST_F(PayloadBundle, MergeRejectsOneDestinationFromTwoFilesAndChangesNothing) {
  const auto a = put("a", "a");
  const auto b = put("b", "b");
  std::vector<InitramfsEntry> into{{a, "lib/libx.so", 0644}};
  auto merged = merge_entries(into, {{a, "bin/other", 0755}, {b, "/lib/libx.so", 0644}});
  ASSERT_FALSE(merged.ok());
  EXPECT_THAT(merged.error().message, HasSubstr("'lib/libx.so'"));
  EXPECT_THAT(merged.error().message, HasSubstr(a.string()));
  EXPECT_THAT(merged.error().message, HasSubstr(b.string()));
  EXPECT_EQ(into.size(), 1U);
  EXPECT_FALSE(merge_entries(into, {{a, "lib/libx.so", 0755}}).ok());  // same file, other mode
  EXPECT_TRUE(merge_entries(into, {{a, "/lib/libx.so", 0644}}).ok());  // same entry
  EXPECT_EQ(into.size(), 1U);
}

}  // namespace
}  // namespace kstep::host
