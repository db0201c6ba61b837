#include "host/kernel/kernel_locator.hpp"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/kernel/kernel_test_support.hpp"

namespace kstep::host::kernel {
namespace {

namespace fs = std::filesystem;
using kernel_test::BzImageSpec;
using kernel_test::ElfSpec;
using kernel_test::make_bzimage;
using kernel_test::make_elf;
using kernel_test::TempDir;
using kernel_test::write_bytes;
using kernel_test::write_file;
using ::testing::HasSubstr;

constexpr std::string_view kRelease = "7.3.4+deb13-cloud-amd64";

class KernelLocator : public ::testing::Test {
 protected:
  [[nodiscard]] fs::path release_dir(std::string_view release) const {
    return tmp_.path() / "cache" / "kernels" / release;
  }

  // A cached release; the image files hold real image bytes.
  fs::path add_cached(std::string_view release, bool vmlinuz, bool vmlinux, bool config) {
    const auto dir = release_dir(release);
    if (vmlinuz) {
      write_bytes(dir / "vmlinuz", make_bzimage(BzImageSpec{}));
    }
    if (vmlinux) {
      write_bytes(dir / "vmlinux", make_elf(ElfSpec{}));
    }
    if (config) {
      write_file(dir / "config", "CONFIG_SCHED_CLASS_EXT=y\n");
    }
    fs::create_directories(dir);
    return dir;
  }

  Result<KernelImage> resolve(std::string_view spec, const std::optional<fs::path>& config = std::nullopt) {
    return resolve_kernel(cache_, spec, config);
  }

  TempDir tmp_;
  KernelCache cache_{tmp_.path() / "cache"};
};

TEST_F(KernelLocator, CachedReleasePrefersVmlinuxAndKeepsBzImage) {
  const auto dir = add_cached(kRelease, true, true, true);
  auto image = resolve(kRelease);
  ASSERT_TRUE(image.ok()) << image.error().message;
  EXPECT_EQ(image->image, dir / "vmlinux");
  EXPECT_EQ(image->format, ImageFormat::Vmlinux);
  EXPECT_EQ(image->bzimage, dir / "vmlinuz");
  EXPECT_EQ(image->config, dir / "config");
  EXPECT_EQ(image->release, kRelease);
  EXPECT_TRUE(image->cached);
}

TEST_F(KernelLocator, CachedReleaseWithBzImageOnly) {
  const auto dir = add_cached(kRelease, true, false, false);
  auto image = resolve(kRelease);
  ASSERT_TRUE(image.ok()) << image.error().message;
  EXPECT_EQ(image->image, dir / "vmlinuz");
  EXPECT_EQ(image->format, ImageFormat::BzImage);
  EXPECT_EQ(image->bzimage, std::nullopt);
  EXPECT_EQ(image->config, std::nullopt);
  EXPECT_TRUE(image->cached);
}

TEST_F(KernelLocator, ExplicitConfigOverridesTheCachedOne) {
  add_cached(kRelease, true, true, true);
  const auto override_path = tmp_ / "my.config";
  write_file(override_path, "CONFIG_A=y\n");
  auto image = resolve(kRelease, override_path);
  ASSERT_TRUE(image.ok()) << image.error().message;
  EXPECT_EQ(image->config, override_path);
}

TEST_F(KernelLocator, MissingExplicitConfigIsAnError) {
  add_cached(kRelease, true, true, true);
  const auto missing = tmp_ / "missing.config";
  for (const std::string& spec : {std::string{kRelease}, (release_dir(kRelease) / "vmlinuz").string()}) {
    auto image = resolve(spec, missing);
    ASSERT_FALSE(image.ok()) << spec;
    EXPECT_THAT(image.error().message, HasSubstr(missing.string())) << spec;
    EXPECT_THAT(image.error().message, HasSubstr("no such file")) << spec;
  }
}

TEST_F(KernelLocator, BzImagePathWithConfigBeside) {
  const auto path = tmp_ / "boot" / "bzImage";
  write_bytes(path, make_bzimage(BzImageSpec{}));
  write_file(tmp_ / "boot" / "config", "CONFIG_A=y\n");
  auto image = resolve(path.string());
  ASSERT_TRUE(image.ok()) << image.error().message;
  EXPECT_EQ(image->image, path);
  EXPECT_EQ(image->format, ImageFormat::BzImage);
  EXPECT_EQ(image->release, "7.3.4+test-amd64");  // from the setup header's version string
  EXPECT_EQ(image->config, tmp_ / "boot" / "config");
  EXPECT_EQ(image->bzimage, std::nullopt);
  EXPECT_FALSE(image->cached);
}

TEST_F(KernelLocator, FormatComesFromBytesNotName) {
  // An ELF named like a bzImage, and a bzImage named like an ELF.
  const auto elf = tmp_ / "a" / "bzImage";
  const auto bz = tmp_ / "b" / "vmlinux";
  write_bytes(elf, make_elf(ElfSpec{}));
  write_bytes(bz, make_bzimage(BzImageSpec{}));
  auto elf_image = resolve(elf.string());
  ASSERT_TRUE(elf_image.ok()) << elf_image.error().message;
  EXPECT_EQ(elf_image->format, ImageFormat::Vmlinux);
  auto bz_image = resolve(bz.string());
  ASSERT_TRUE(bz_image.ok()) << bz_image.error().message;
  EXPECT_EQ(bz_image->format, ImageFormat::BzImage);
}

TEST_F(KernelLocator, VmlinuxPathFindsDebianBootStyleConfig) {
  const auto boot = tmp_ / "boot";
  write_bytes(boot / "vmlinux-7.3.4+test-amd64", make_elf(ElfSpec{}));
  write_file(boot / "config-7.3.4+test-amd64", "CONFIG_A=y\n");
  write_file(boot / "config-6.1.0-other", "CONFIG_A=y\n");
  auto image = resolve((boot / "vmlinux-7.3.4+test-amd64").string());
  ASSERT_TRUE(image.ok()) << image.error().message;
  EXPECT_EQ(image->format, ImageFormat::Vmlinux);
  EXPECT_EQ(image->release, "7.3.4+test-amd64");  // from the Linux banner
  EXPECT_EQ(image->config, boot / "config-7.3.4+test-amd64");
}

TEST_F(KernelLocator, ExplicitConfigForAPath) {
  const auto path = tmp_ / "bzImage";
  write_bytes(path, make_bzimage(BzImageSpec{}));
  write_file(tmp_ / "config", "CONFIG_A=y\n");
  write_file(tmp_ / "other.config", "CONFIG_A=y\n");
  auto image = resolve(path.string(), tmp_ / "other.config");
  ASSERT_TRUE(image.ok()) << image.error().message;
  EXPECT_EQ(image->config, tmp_ / "other.config");
}

TEST_F(KernelLocator, PathWithoutReleaseOrConfig) {
  const auto path = tmp_ / "bzImage";
  BzImageSpec spec;
  spec.kernel_version.clear();
  write_bytes(path, make_bzimage(spec));
  auto image = resolve(path.string());
  ASSERT_TRUE(image.ok()) << image.error().message;
  EXPECT_EQ(image->release, "");
  EXPECT_EQ(image->config, std::nullopt);
}

TEST_F(KernelLocator, NonexistentPathIsAClearError) {
  const auto path = tmp_ / "nowhere" / "bzImage";
  auto image = resolve(path.string());
  ASSERT_FALSE(image.ok());
  EXPECT_THAT(image.error().message, HasSubstr(path.string()));
  EXPECT_THAT(image.error().message, HasSubstr("no such file"));
}

TEST_F(KernelLocator, UnknownReleaseNameIsAClearError) {
  add_cached(kRelease, true, true, true);
  auto image = resolve("6.99.0-not-cached-amd64");
  ASSERT_FALSE(image.ok());
  EXPECT_THAT(image.error().message, HasSubstr("'6.99.0-not-cached-amd64'"));
  EXPECT_THAT(image.error().message, HasSubstr("neither a cached release"));
  EXPECT_THAT(image.error().message, HasSubstr("kstep kernel list"));
}

TEST_F(KernelLocator, EmptySpecIsAnError) {
  auto image = resolve("");
  ASSERT_FALSE(image.ok());
  EXPECT_THAT(image.error().message, HasSubstr("empty kernel spec"));
}

TEST_F(KernelLocator, GarbageAndDirectoriesAreNotImages) {
  const auto garbage = tmp_ / "garbage";
  write_file(garbage, std::string(8192, 'x'));
  auto image = resolve(garbage.string());
  ASSERT_FALSE(image.ok());
  EXPECT_THAT(image.error().message, HasSubstr(garbage.string()));
  EXPECT_THAT(image.error().message, HasSubstr("not a kernel image"));

  fs::create_directories(tmp_ / "adir");
  auto dir = resolve((tmp_ / "adir").string());
  ASSERT_FALSE(dir.ok());
  EXPECT_THAT(dir.error().message, HasSubstr("not a regular file"));
}

TEST_F(KernelLocator, CachedReleaseWithoutImagesIsNotFound) {
  add_cached(kRelease, false, false, true);  // config only: not a release
  auto image = resolve(kRelease);
  ASSERT_FALSE(image.ok());
  EXPECT_THAT(image.error().message, HasSubstr("neither a cached release"));
}

TEST_F(KernelLocator, DefaultKernelIsTheNewestCachedRelease) {
  auto none = default_kernel(cache_, std::nullopt);
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_FALSE(none->has_value());

  add_cached("6.12.10+bpo-cloud-amd64", true, false, false);
  const auto newest = add_cached("7.3.4+deb13-cloud-amd64", true, true, true);
  add_cached("6.12.9+bpo-cloud-amd64", true, true, false);
  auto image = default_kernel(cache_, std::nullopt);
  ASSERT_TRUE(image.ok()) << image.error().message;
  ASSERT_TRUE(image->has_value());
  EXPECT_EQ((*image)->release, "7.3.4+deb13-cloud-amd64");
  EXPECT_EQ((*image)->image, newest / "vmlinux");
  EXPECT_TRUE((*image)->cached);
}

TEST_F(KernelLocator, KernelImageFromCacheWithoutImagesFails) {
  CachedKernel empty;
  empty.release = "x";
  empty.dir = tmp_.path();
  auto image = kernel_image_from_cache(empty, std::nullopt);
  ASSERT_FALSE(image.ok());
  EXPECT_THAT(image.error().message, HasSubstr("neither vmlinux nor vmlinuz"));
}

TEST(KernelLocatorConfig, FindConfigBesidePrefersConfigThenDotConfigThenRelease) {
  TempDir tmp;
  const auto image = tmp / "bzImage";
  write_file(image, "");
  EXPECT_EQ(find_config_beside(image, "7.3.4"), std::nullopt);
  write_file(tmp / "config-7.3.4", "");
  EXPECT_EQ(find_config_beside(image, "7.3.4"), tmp / "config-7.3.4");
  EXPECT_EQ(find_config_beside(image, ""), std::nullopt);  // no release: no config-<release>
  write_file(tmp / ".config", "");
  EXPECT_EQ(find_config_beside(image, "7.3.4"), tmp / ".config");
  write_file(tmp / "config", "");
  EXPECT_EQ(find_config_beside(image, "7.3.4"), tmp / "config");
}

TEST(KernelLocatorConfig, FindConfigBesideUsesTheTreeConfigOfAKbuildImage) {
  TempDir tmp;
  const auto tree = tmp / "linux";
  const auto image = tree / "arch" / "x86" / "boot" / "bzImage";
  write_file(image, "");
  EXPECT_EQ(find_config_beside(image, ""), std::nullopt);
  write_file(tree / ".config", "");
  EXPECT_EQ(find_config_beside(image, ""), tree / ".config");

  // Only for that exact layout.
  const auto other = tmp / "other" / "x86" / "boot" / "bzImage";
  write_file(other, "");
  write_file(tmp / ".config", "");
  EXPECT_EQ(find_config_beside(other, ""), std::nullopt);

  // A directory named config is not a config.
  const auto dir_image = tmp / "d" / "bzImage";
  write_file(dir_image, "");
  fs::create_directories(tmp / "d" / "config");
  EXPECT_EQ(find_config_beside(dir_image, ""), std::nullopt);
}

}  // namespace
}  // namespace kstep::host::kernel
