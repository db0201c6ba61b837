#include "host/kernel/vmlinux_extract.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "common/unique_fd.hpp"
#include "host/kernel/image_format.hpp"

namespace kstep::host::kernel {
namespace {

enum class Codec { Zstd, Gzip, Xz };

struct Magic {
  Codec codec;
  std::string_view bytes;
};

constexpr std::array kMagics{
    Magic{Codec::Zstd, std::string_view{"\x28\xb5\x2f\xfd", 4}},
    Magic{Codec::Gzip, std::string_view{"\x1f\x8b\x08", 3}},
    Magic{Codec::Xz, std::string_view{"\xfd"
                                      "7zXZ\0",
                                      6}},
};

// Wrong guesses (a magic that happens to occur in the decompressor code)
// fail fast; this only bounds the work on a file that is no kernel at all.
constexpr std::size_t kMaxScannedCandidates = 8;
// An uncompressed-size hint above this is not believed.
constexpr std::size_t kMaxSizeHint = std::size_t{1} << 30;

std::string_view as_chars(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

std::uint32_t le32(std::span<const std::byte> bytes, std::size_t at) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    v |= std::to_integer<std::uint32_t>(bytes[at + i]) << (8 * i);
  }
  return v;
}

std::optional<Codec> codec_at(std::span<const std::byte> bytes) {
  for (const auto& magic : kMagics) {
    if (as_chars(bytes).starts_with(magic.bytes)) {
      return magic.codec;
    }
  }
  return std::nullopt;
}

// A compressed stream to try: where it starts and how long it is.
struct Candidate {
  std::size_t offset = 0;
  std::size_t length = 0;
  std::size_t size_hint = 0;
};

// Trims a stream so nothing but the stream itself reaches the decoder
// (see the header comment). nullopt: not a usable stream of that codec.
std::optional<std::size_t> stream_length(Codec codec, std::span<const std::byte> stream) {
  switch (codec) {
    case Codec::Zstd: return zstd_frame_size(stream);
    case Codec::Xz: {
      // An xz stream ends with the two footer magic bytes "YZ"; the kernel
      // may have appended a 4-byte size after them.
      const auto text = as_chars(stream);
      if (text.ends_with("YZ")) {
        return stream.size();
      }
      if (text.size() >= 4 && text.substr(0, text.size() - 4).ends_with("YZ")) {
        return stream.size() - 4;
      }
      return stream.size();
    }
    case Codec::Gzip: return stream.size();
  }
  return std::nullopt;
}

struct ArchiveDeleter {
  void operator()(archive* a) const noexcept { archive_read_free(a); }
};

struct Decoded {
  std::vector<std::byte> bytes;
  std::string error;  // empty when the decoder reported success
};

Decoded decompress(std::span<const std::byte> stream, std::size_t size_hint) {
  Decoded decoded;
  std::unique_ptr<archive, ArchiveDeleter> reader{archive_read_new()};
  if (!reader) {
    decoded.error = "archive_read_new failed";
    return decoded;
  }
  // Only the in-library decoders: support_filter_all would also register
  // filters that run external programs.
  archive_read_support_filter_gzip(reader.get());
  archive_read_support_filter_xz(reader.get());
  archive_read_support_filter_zstd(reader.get());
  archive_read_support_format_raw(reader.get());
  archive_entry* entry = nullptr;
  if (archive_read_open_memory(reader.get(), stream.data(), stream.size()) != ARCHIVE_OK ||
      archive_read_next_header(reader.get(), &entry) != ARCHIVE_OK) {
    decoded.error = archive_error_string(reader.get()) ? archive_error_string(reader.get()) : "unreadable";
    return decoded;
  }
  constexpr std::size_t kChunk = 1 << 20;
  decoded.bytes.reserve(std::min(size_hint, kMaxSizeHint) + kChunk);
  std::size_t used = 0;
  for (;;) {
    decoded.bytes.resize(used + kChunk);
    const la_ssize_t n = archive_read_data(reader.get(), decoded.bytes.data() + used, kChunk);
    if (n < 0) {
      const char* message = archive_error_string(reader.get());
      decoded.error = message ? message : "decompression failed";
      break;
    }
    if (n == 0) {
      break;
    }
    used += static_cast<std::size_t>(n);
  }
  decoded.bytes.resize(used);
  return decoded;
}

std::vector<Candidate> candidates(std::span<const std::byte> image) {
  std::vector<Candidate> found;
  if (auto header = parse_bzimage_header(image);
      header && header->payload_length >= 4 && header->payload_start <= image.size() &&
      header->payload_length <= image.size() - header->payload_start) {
    auto payload = image.subspan(header->payload_start, header->payload_length);
    // The payload's last four bytes are the uncompressed size (the gzip
    // trailer, or the size kbuild appends for the other codecs).
    const std::size_t hint = le32(payload, payload.size() - 4);
    if (auto codec = codec_at(payload)) {
      if (auto length = stream_length(*codec, payload)) {
        found.push_back({header->payload_start, *length, hint});
      }
    }
  }
  const auto text = as_chars(image);
  std::size_t scanned = 0;
  for (std::size_t at = 0; at < text.size() && scanned < kMaxScannedCandidates; ++at) {
    at = text.find_first_of(std::string_view{"\x28\x1f\xfd", 3}, at);
    if (at == std::string_view::npos) {
      break;
    }
    auto codec = codec_at(image.subspan(at));
    if (!codec || (!found.empty() && found.front().offset == at)) {
      continue;
    }
    ++scanned;
    if (auto length = stream_length(*codec, image.subspan(at))) {
      found.push_back({at, *length, 0});
    }
  }
  return found;
}

}  // namespace

std::optional<std::size_t> zstd_frame_size(std::span<const std::byte> bytes) {
  // RFC 8878 section 3.1.1: magic, frame header, blocks, optional checksum.
  if (!as_chars(bytes).starts_with(kMagics[0].bytes) || bytes.size() < 5) {
    return std::nullopt;
  }
  const auto descriptor = std::to_integer<unsigned>(bytes[4]);
  if ((descriptor & 0x08U) != 0) {
    return std::nullopt;  // reserved bit
  }
  const unsigned content_size_flag = descriptor >> 6;
  const bool single_segment = ((descriptor >> 5) & 1U) != 0;
  const bool has_checksum = ((descriptor >> 2) & 1U) != 0;
  constexpr std::array<std::size_t, 4> kDictIdSize{0, 1, 2, 4};
  constexpr std::array<std::size_t, 4> kContentSize{0, 2, 4, 8};
  std::size_t pos = 5;
  pos += single_segment ? 0 : 1;  // window descriptor
  pos += kDictIdSize[descriptor & 3U];
  pos += (content_size_flag == 0 && single_segment) ? 1 : kContentSize[content_size_flag];
  for (;;) {
    if (pos + 3 > bytes.size()) {
      return std::nullopt;
    }
    const std::uint32_t block = std::to_integer<std::uint32_t>(bytes[pos]) |
                                (std::to_integer<std::uint32_t>(bytes[pos + 1]) << 8) |
                                (std::to_integer<std::uint32_t>(bytes[pos + 2]) << 16);
    pos += 3;
    const bool last = (block & 1U) != 0;
    const unsigned type = (block >> 1) & 3U;
    const std::size_t size = block >> 3;
    if (type == 3) {
      return std::nullopt;  // reserved block type
    }
    pos += type == 1 ? 1 : size;  // an RLE block stores one byte
    if (pos > bytes.size()) {
      return std::nullopt;
    }
    if (last) {
      break;
    }
  }
  pos += has_checksum ? 4 : 0;
  if (pos > bytes.size()) {
    return std::nullopt;
  }
  return pos;
}

Result<std::vector<std::byte>> extract_vmlinux(std::span<const std::byte> bzimage, std::string_view name) {
  const auto tries = candidates(bzimage);
  if (tries.empty()) {
    return fail("{}: no zstd, gzip or xz compressed kernel found inside", name);
  }
  std::string last_problem;
  for (const auto& candidate : tries) {
    auto decoded = decompress(bzimage.subspan(candidate.offset, candidate.length), candidate.size_hint);
    // The decoder's verdict is not the test: trailing bytes make some fail
    // after producing everything. A complete ELF is.
    auto complete = check_complete_elf(decoded.bytes);
    if (complete) {
      return std::move(decoded.bytes);
    }
    last_problem = fmt::format("stream at offset {:#x}: {}{}{}", candidate.offset, complete.error().message,
                               decoded.error.empty() ? "" : "; decoder: ", decoded.error);
  }
  return fail("{}: none of {} compressed stream(s) decompressed to a complete ELF vmlinux (last: {})", name,
              tries.size(), last_problem);
}

Result<void> extract_vmlinux_file(const std::filesystem::path& bzimage, const std::filesystem::path& out) {
  auto image = read_file_head(bzimage, SIZE_MAX);
  if (!image) {
    return Unexpected{std::move(image).error()};
  }
  auto elf = extract_vmlinux(*image, bzimage.string());
  if (!elf) {
    return Unexpected{std::move(elf).error()};
  }
  std::string temp = out.string() + ".XXXXXX";
  UniqueFd fd{::mkostemp(temp.data(), O_CLOEXEC)};
  if (!fd) {
    return fail("cannot create a temporary file beside {}: {}", out.string(), std::strerror(errno));
  }
  auto remove_temp = [&temp] { ::unlink(temp.c_str()); };
  const auto* data = reinterpret_cast<const char*>(elf->data());
  std::size_t left = elf->size();
  while (left > 0) {
    const ssize_t n = ::write(fd.get(), data, left);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      const int error = errno;
      remove_temp();
      return fail("cannot write {}: {}", temp, std::strerror(error));
    }
    data += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::fchmod(fd.get(), 0644) != 0 || ::close(fd.release()) != 0 ||
      ::rename(temp.c_str(), out.c_str()) != 0) {
    const int error = errno;
    remove_temp();
    return fail("cannot install {}: {}", out.string(), std::strerror(error));
  }
  return {};
}

}  // namespace kstep::host::kernel
