#include "host/kernel/image_format.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

namespace kstep::host::kernel {
namespace {

// Setup header offsets (boot protocol).
constexpr std::size_t kSetupSects = 0x1f1;
constexpr std::size_t kHeaderMagic = 0x202;  // "HdrS"
constexpr std::size_t kProtocol = 0x206;
constexpr std::size_t kKernelVersion = 0x20e;  // pointer, relative to 0x200
constexpr std::size_t kPayloadOffset = 0x248;  // relative to the protected-mode code
constexpr std::size_t kPayloadLength = 0x24c;
constexpr std::size_t kSectorSize = 512;

constexpr std::uint16_t kMachineX86_64 = 62;
constexpr std::uint32_t kSectionNoBits = 8;

template <class T>
std::optional<T> read_le(std::span<const std::byte> bytes, std::size_t offset) {
  if (offset > bytes.size() || bytes.size() - offset < sizeof(T)) {
    return std::nullopt;
  }
  T value{};
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    value |= static_cast<T>(static_cast<T>(std::to_integer<std::uint8_t>(bytes[offset + i])) << (8 * i));
  }
  return value;
}

std::string_view as_chars(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

bool is_elf(std::span<const std::byte> bytes) {
  return as_chars(bytes).starts_with(
      "\x7f"
      "ELF");
}

// `offset + count * size <= limit` without overflow.
bool table_fits(std::uint64_t offset, std::uint64_t count, std::uint64_t size, std::uint64_t limit) {
  if (offset > limit) {
    return false;
  }
  return count == 0 || size == 0 || count <= (limit - offset) / size;
}

}  // namespace

std::string_view to_string(ImageFormat format) noexcept {
  switch (format) {
    case ImageFormat::Vmlinux: return "vmlinux";
    case ImageFormat::BzImage: return "bzImage";
  }
  return "?";
}

std::optional<BzImageHeader> parse_bzimage_header(std::span<const std::byte> image) {
  if (image.size() < kHeaderMagic + 4 || as_chars(image).substr(kHeaderMagic, 4) != "HdrS") {
    return std::nullopt;
  }
  BzImageHeader header;
  header.protocol = read_le<std::uint16_t>(image, kProtocol).value_or(0);

  if (auto pointer = read_le<std::uint16_t>(image, kKernelVersion); pointer && *pointer != 0) {
    const std::size_t at = std::size_t{*pointer} + 0x200;
    if (at < image.size()) {
      const auto text = as_chars(image.subspan(at, std::min<std::size_t>(256, image.size() - at)));
      header.kernel_version = std::string{text.substr(0, text.find('\0'))};
    }
  }

  if (header.protocol >= 0x208) {
    // setup_sects == 0 means 4, for images older than anyone will boot here.
    std::size_t setup_sects = std::to_integer<std::size_t>(image[kSetupSects]);
    if (setup_sects == 0) {
      setup_sects = 4;
    }
    const auto offset = read_le<std::uint32_t>(image, kPayloadOffset);
    const auto length = read_le<std::uint32_t>(image, kPayloadLength);
    if (offset && length && *length != 0) {
      header.payload_start = (setup_sects + 1) * kSectorSize + *offset;
      header.payload_length = *length;
    }
  }
  return header;
}

Result<ImageFormat> detect_image_format(std::span<const std::byte> head, std::string_view name) {
  if (is_elf(head)) {
    const auto elf_class = head.size() > 4 ? std::to_integer<int>(head[4]) : 0;
    const auto machine = read_le<std::uint16_t>(head, 18);
    if (elf_class != 2 || machine != kMachineX86_64) {
      return fail(
          "{}: an ELF file, but not an x86-64 kernel (class {}, machine {}); kstep boots x86-64 kernels",
          name, elf_class, machine.value_or(0));
    }
    return ImageFormat::Vmlinux;
  }
  if (parse_bzimage_header(head)) {
    return ImageFormat::BzImage;
  }
  return fail("{}: not a kernel image: neither an ELF vmlinux nor a bzImage (no \"HdrS\" at offset 0x202)",
              name);
}

std::optional<std::string> find_linux_banner_release(std::span<const std::byte> bytes) {
  constexpr std::string_view kBanner = "Linux version ";
  const auto text = as_chars(bytes);
  for (std::size_t at = text.find(kBanner); at != std::string_view::npos; at = text.find(kBanner, at + 1)) {
    const auto rest = text.substr(at + kBanner.size());
    // Format strings such as "Linux version %s" are not the banner.
    if (rest.empty() || rest.front() < '0' || rest.front() > '9') {
      continue;
    }
    const auto end = rest.find_first_of(std::string_view{" \n\0", 3});
    if (end == std::string_view::npos) {
      return std::nullopt;  // cut off by the end of this chunk
    }
    return std::string{rest.substr(0, end)};
  }
  return std::nullopt;
}

Result<std::optional<std::string>> image_release(const std::filesystem::path& path, ImageFormat format) {
  if (format == ImageFormat::BzImage) {
    auto head = read_file_head(path, 64 * 1024);
    if (!head) {
      return Unexpected{std::move(head).error()};
    }
    const auto header = parse_bzimage_header(*head);
    if (!header || header->kernel_version.empty()) {
      return std::optional<std::string>{};
    }
    const auto& version = header->kernel_version;
    return std::optional<std::string>{version.substr(0, version.find(' '))};
  }

  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail("cannot read {}: {}", path.string(), std::strerror(errno));
  }
  // Chunks overlap by more than a banner's length, so one split across a
  // chunk boundary is still seen whole in the next chunk.
  constexpr std::size_t kChunk = 4 << 20;
  constexpr std::size_t kOverlap = 512;
  std::vector<std::byte> buffer(kChunk + kOverlap);
  std::size_t kept = 0;
  while (in) {
    in.read(reinterpret_cast<char*>(buffer.data() + kept), static_cast<std::streamsize>(kChunk));
    const auto got = static_cast<std::size_t>(in.gcount());
    if (got == 0) {
      break;
    }
    const std::span<const std::byte> window{buffer.data(), kept + got};
    if (auto release = find_linux_banner_release(window)) {
      return std::optional<std::string>{std::move(*release)};
    }
    kept = std::min(kOverlap, window.size());
    std::memmove(buffer.data(), window.data() + window.size() - kept, kept);
  }
  if (in.bad()) {
    return fail("error reading {}", path.string());
  }
  return std::optional<std::string>{};
}

Result<void> check_complete_elf(std::span<const std::byte> bytes) {
  if (!is_elf(bytes)) {
    return fail("no ELF header");
  }
  if (bytes.size() < 64 || std::to_integer<int>(bytes[4]) != 2 || std::to_integer<int>(bytes[5]) != 1) {
    return fail("not a little-endian 64-bit ELF");
  }
  const std::uint64_t size = bytes.size();
  const auto phoff = *read_le<std::uint64_t>(bytes, 0x20);
  const auto shoff = *read_le<std::uint64_t>(bytes, 0x28);
  const auto phentsize = *read_le<std::uint16_t>(bytes, 0x36);
  const auto phnum = *read_le<std::uint16_t>(bytes, 0x38);
  const auto shentsize = *read_le<std::uint16_t>(bytes, 0x3a);
  const auto shnum = *read_le<std::uint16_t>(bytes, 0x3c);

  if (!table_fits(phoff, phnum, phentsize, size)) {
    return fail("ELF program headers ({} at {:#x}) extend past the end ({} bytes)", phnum, phoff, size);
  }
  if (!table_fits(shoff, shnum, shentsize, size)) {
    return fail("ELF section headers ({} at {:#x}) extend past the end ({} bytes)", shnum, shoff, size);
  }
  if (phnum != 0 && phentsize < 0x38) {
    return fail("ELF program header entries are {} bytes, expected at least 56", phentsize);
  }
  if (shnum != 0 && shentsize < 0x40) {
    return fail("ELF section header entries are {} bytes, expected at least 64", shentsize);
  }
  for (std::uint64_t i = 0; i < phnum; ++i) {
    const auto entry = static_cast<std::size_t>(phoff + i * phentsize);
    const auto offset = *read_le<std::uint64_t>(bytes, entry + 0x08);
    const auto filesz = *read_le<std::uint64_t>(bytes, entry + 0x20);
    if (!table_fits(offset, 1, filesz, size)) {
      return fail("ELF segment {} ({} bytes at {:#x}) extends past the end ({} bytes)", i, filesz, offset,
                  size);
    }
  }
  for (std::uint64_t i = 0; i < shnum; ++i) {
    const auto entry = static_cast<std::size_t>(shoff + i * shentsize);
    const auto type = *read_le<std::uint32_t>(bytes, entry + 0x04);
    const auto offset = *read_le<std::uint64_t>(bytes, entry + 0x18);
    const auto section_size = *read_le<std::uint64_t>(bytes, entry + 0x20);
    if (type != kSectionNoBits && !table_fits(offset, 1, section_size, size)) {
      return fail("ELF section {} ({} bytes at {:#x}) extends past the end ({} bytes)", i, section_size,
                  offset, size);
    }
  }
  return {};
}

Result<std::vector<std::byte>> read_file_head(const std::filesystem::path& path, std::size_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail("cannot read {}: {}", path.string(), std::strerror(errno));
  }
  // Size the buffer by the file, so limit may be SIZE_MAX for "all of it".
  std::error_code ec;
  const auto file_size = std::filesystem::file_size(path, ec);
  std::vector<std::byte> head(ec ? std::min<std::size_t>(limit, 64 * 1024)
                                 : std::min<std::size_t>(limit, file_size));
  in.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(head.size()));
  if (in.bad()) {
    return fail("error reading {}", path.string());
  }
  head.resize(static_cast<std::size_t>(in.gcount()));
  return head;
}

}  // namespace kstep::host::kernel
