#include "host/vm/qemu_argv.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "host/vm/private_dir.hpp"
#include "tests/unit/vm/vm_test_support.hpp"

namespace kstep::host {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

VmSpec base_spec() {
  VmSpec spec;
  spec.qemu = "/usr/bin/qemu-system-x86_64";
  spec.accelerator = Accelerator::Tcg;
  spec.kernel = "/k/vmlinux";
  spec.kernel_format = KernelFormat::Vmlinux;
  spec.firmware = "/usr/share/qemu/qboot.rom";
  spec.initrd = "/c/initramfs.cpio.zst";
  spec.smp = 2;
  spec.memory_mib = 512;
  spec.control_socket = "/tmp/kstep-abc/control.sock";
  return spec;
}

std::vector<std::string> argv_of(const VmSpec& spec) {
  auto argv = build_qemu_argv(spec);
  EXPECT_TRUE(argv.ok()) << (argv.ok() ? "" : argv.error().message);
  return argv.ok() ? *argv : std::vector<std::string>{};
}

// The value following `option`, or "<absent>".
std::string value_after(const std::vector<std::string>& argv, std::string_view option) {
  const auto it = std::find(argv.begin(), argv.end(), option);
  return it == argv.end() || it + 1 == argv.end() ? "<absent>" : *(it + 1);
}

TEST(VmQemuArgv, TcgVmlinuxWithQbootIsTheMeasuredFastPath) {
  EXPECT_THAT(
      argv_of(base_spec()),
      ElementsAre("/usr/bin/qemu-system-x86_64", "-accel", "tcg,thread=single", "-M", "pc", "-bios",
                  "/usr/share/qemu/qboot.rom", "-kernel", "/k/vmlinux", "-initrd", "/c/initramfs.cpio.zst",
                  "-append", "console=ttyS0 panic=-1 loglevel=5", "-smp", "2", "-m", "512M", "-nodefaults",
                  "-no-user-config", "-display", "none", "-serial", "stdio", "-no-reboot", "-chardev",
                  "socket,id=kstepctl,path=/tmp/kstep-abc/control.sock", "-device", "virtio-serial-pci",
                  "-device", "virtserialport,chardev=kstepctl,name=org.kstep.control"));
}

TEST(VmQemuArgv, KvmUsesTheHostCpuAndNoTcgOptions) {
  auto spec = base_spec();
  spec.accelerator = Accelerator::Kvm;
  const auto argv = argv_of(spec);
  EXPECT_EQ(value_after(argv, "-accel"), "kvm");
  EXPECT_EQ(value_after(argv, "-cpu"), "host");
  EXPECT_THAT(argv, Not(Contains(HasSubstr("tcg"))));
}

TEST(VmQemuArgv, TcgIsSingleThreadedAndHasNoHostCpu) {
  const auto argv = argv_of(base_spec());
  EXPECT_EQ(value_after(argv, "-accel"), "tcg,thread=single");
  EXPECT_THAT(argv, Not(Contains("-cpu")));
}

TEST(VmQemuArgv, BzImageWithoutFirmwareKeepsQemusDefaultBios) {
  auto spec = base_spec();
  spec.kernel = "/k/bzImage";
  spec.kernel_format = KernelFormat::BzImage;
  spec.firmware.reset();
  const auto argv = argv_of(spec);
  EXPECT_THAT(argv, Not(Contains("-bios")));
  EXPECT_EQ(value_after(argv, "-kernel"), "/k/bzImage");
  EXPECT_EQ(value_after(argv, "-M"), "pc");
}

TEST(VmQemuArgv, AlwaysStopsOnPanicInsteadOfRebooting) {
  for (const bool quiet : {true, false}) {
    auto spec = base_spec();
    spec.quiet = quiet;
    spec.append = "panic=5 foo";
    const auto argv = argv_of(spec);
    EXPECT_THAT(argv, Contains("-no-reboot"));
    EXPECT_THAT(value_after(argv, "-append"), ::testing::StartsWith("console=ttyS0 panic=-1"));
  }
}

TEST(VmQemuArgv, UserAppendComesLastAfterQuiet) {
  auto spec = base_spec();
  spec.append = "loglevel=7 sched_ext.slice_bypass_us=100";
  EXPECT_EQ(kernel_cmdline(spec),
            "console=ttyS0 panic=-1 loglevel=5 loglevel=7 sched_ext.slice_bypass_us=100");
  spec.quiet = false;
  EXPECT_EQ(kernel_cmdline(spec), "console=ttyS0 panic=-1 loglevel=7 sched_ext.slice_bypass_us=100");
  spec.append.clear();
  EXPECT_EQ(kernel_cmdline(spec), "console=ttyS0 panic=-1");
}

TEST(VmQemuArgv, SizesComeFromTheSpec) {
  auto spec = base_spec();
  spec.smp = 3;
  spec.memory_mib = 1536;
  const auto argv = argv_of(spec);
  EXPECT_EQ(value_after(argv, "-smp"), "3");
  EXPECT_EQ(value_after(argv, "-m"), "1536M");
}

TEST(VmQemuArgv, CommaInSocketPathIsEscapedForQemuOpts) {
  auto spec = base_spec();
  spec.control_socket = "/tmp/a,b/control.sock";
  EXPECT_EQ(value_after(argv_of(spec), "-chardev"), "socket,id=kstepctl,path=/tmp/a,,b/control.sock");
}

TEST(VmQemuArgv, ValidationNamesTheBadField) {
  const auto error_of = [](const VmSpec& spec) {
    auto argv = build_qemu_argv(spec);
    return argv.ok() ? std::string{"<no error>"} : argv.error().message;
  };
  auto spec = base_spec();
  spec.smp = 0;
  EXPECT_THAT(error_of(spec), HasSubstr("smp must be at least 1, got 0"));

  spec = base_spec();
  spec.memory_mib = 64;
  EXPECT_THAT(error_of(spec), HasSubstr("memory must be at least 128 MiB, got 64 MiB"));

  spec = base_spec();
  spec.kernel.clear();
  EXPECT_THAT(error_of(spec), HasSubstr("kernel image path is empty"));

  spec = base_spec();
  spec.initrd.clear();
  EXPECT_THAT(error_of(spec), HasSubstr("initramfs path is empty"));

  spec = base_spec();
  spec.qemu.clear();
  EXPECT_THAT(error_of(spec), HasSubstr("QEMU binary path is empty"));

  spec = base_spec();
  spec.control_socket.clear();
  EXPECT_THAT(error_of(spec), HasSubstr("control socket path is empty"));

  spec = base_spec();
  spec.control_socket = "/tmp/" + std::string(120, 'x') + "/control.sock";
  EXPECT_THAT(error_of(spec), HasSubstr("a unix socket path must be under 108 bytes"));

  spec = base_spec();
  spec.firmware = std::filesystem::path{};
  EXPECT_THAT(error_of(spec), HasSubstr("firmware path is set but empty"));

  spec = base_spec();
  spec.append = std::string(2100, 'a');
  EXPECT_THAT(error_of(spec), HasSubstr("kernel command line is"));

  EXPECT_TRUE(validate(base_spec()).ok());
}

TEST(VmFirmware, QbootOnlyForVmlinux) {
  const std::optional<std::filesystem::path> qboot{"/usr/share/qemu/qboot.rom"};
  EXPECT_EQ(firmware_for(KernelFormat::Vmlinux, qboot), qboot);
  EXPECT_EQ(firmware_for(KernelFormat::BzImage, qboot), std::nullopt);
  EXPECT_EQ(firmware_for(KernelFormat::Vmlinux, std::nullopt), std::nullopt);
}

TEST(VmAccelerator, NonKvmFilesMeanTcg) {
  auto dir = PrivateDir::create("/tmp");
  ASSERT_TRUE(dir.ok());
  const auto fake = dir->path() / "kvm";
  testing::write_file(fake, "not a kvm device");
  EXPECT_EQ(detect_accelerator(fake).accelerator, Accelerator::Tcg);
  EXPECT_EQ(detect_accelerator(dir->path() / "missing").accelerator, Accelerator::Tcg);
  // A character device that opens read-write but does not speak KVM.
  EXPECT_EQ(detect_accelerator("/dev/null").accelerator, Accelerator::Tcg);
}

TEST(VmDetectAccelerator, WantsAHardwareVendorModuleBehindRealKvm) {
  std::error_code ec;
  if (!std::filesystem::exists("/dev/kvm", ec)) {
    GTEST_SKIP() << "no /dev/kvm on this machine";
  }
  auto modules = PrivateDir::create("/tmp");
  ASSERT_TRUE(modules.ok());
  // Only kvm_pvm (a sandbox's KVM): not usable for a stock kernel.
  std::filesystem::create_directories(modules->path() / "kvm");
  std::filesystem::create_directories(modules->path() / "kvm_pvm");
  const auto pvm = detect_accelerator("/dev/kvm", modules->path());
  if (pvm.reason.find("not open") != std::string::npos) {
    GTEST_SKIP() << pvm.reason;
  }
  EXPECT_EQ(pvm.accelerator, Accelerator::Tcg);
  EXPECT_THAT(pvm.reason, ::testing::HasSubstr("kvm_pvm"));
  std::filesystem::create_directories(modules->path() / "kvm_amd");
  EXPECT_EQ(detect_accelerator("/dev/kvm", modules->path()).accelerator, Accelerator::Kvm);
}

TEST(VmFindQboot, ReturnsTheFirstExistingRegularFile) {
  auto dir = PrivateDir::create("/tmp");
  ASSERT_TRUE(dir.ok());
  const auto rom = (dir->path() / "qboot.rom").string();
  const auto later = (dir->path() / "bios.bin").string();
  testing::write_file(rom, "rom");
  testing::write_file(later, "rom");
  const auto missing = (dir->path() / "nope.rom").string();
  const auto directory = dir->path().string();
  const std::string_view candidates[] = {missing, directory, rom, later};
  EXPECT_EQ(find_qboot(candidates), std::filesystem::path{rom});
  const std::string_view none[] = {missing, directory};
  EXPECT_EQ(find_qboot(none), std::nullopt);
}

TEST(VmFindProgram, SearchesPathForExecutableFilesOnly) {
  auto dir = PrivateDir::create("/tmp");
  ASSERT_TRUE(dir.ok());
  const auto a = dir->path() / "a";
  const auto b = dir->path() / "b";
  std::filesystem::create_directories(a);
  std::filesystem::create_directories(b);
  testing::write_file(a / "tool", "#!/bin/sh\n");  // not executable
  testing::write_file(b / "tool", "#!/bin/sh\n");
  ::chmod((b / "tool").c_str(), 0755);
  std::filesystem::create_directories(a / "dir-tool");
  const auto path_env = fmt::format("::{}:{}", a.string(), b.string());
  EXPECT_EQ(find_program("tool", path_env.c_str()), b / "tool");
  EXPECT_EQ(find_program("dir-tool", path_env.c_str()), std::nullopt);
  EXPECT_EQ(find_program("tool", nullptr), std::nullopt);
  EXPECT_EQ(find_program((b / "tool").string(), nullptr), b / "tool");
  EXPECT_EQ(find_program((a / "tool").string(), nullptr), std::nullopt);
}

TEST(VmFindQemu, MissingQemuNamesTheDebianPackage) {
  auto dir = PrivateDir::create("/tmp");
  ASSERT_TRUE(dir.ok());
  const auto path_env = dir->path().string();
  auto qemu = find_qemu(path_env.c_str());
  ASSERT_FALSE(qemu.ok());
  EXPECT_THAT(qemu.error().message, HasSubstr("qemu-system-x86_64 was not found on PATH"));
  EXPECT_THAT(qemu.error().message, HasSubstr("qemu-system-x86"));

  testing::write_file(dir->path() / "qemu-system-x86_64", "#!/bin/sh\n");
  ::chmod((dir->path() / "qemu-system-x86_64").c_str(), 0755);
  qemu = find_qemu(path_env.c_str());
  ASSERT_TRUE(qemu.ok()) << qemu.error().message;
  EXPECT_EQ(*qemu, dir->path() / "qemu-system-x86_64");
}

}  // namespace
}  // namespace kstep::host
