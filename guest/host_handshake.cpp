#include "guest/host_handshake.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include <fmt/format.h>

#include "common/message_codec.hpp"
#include "guest/bpf/process_maps.hpp"

namespace kstep::guest {
namespace {

void send_log(FrameSink& sink, wire::Log::Level level, std::string text) {
  wire::GuestMessage message;
  message.mutable_log()->set_level(level);
  message.mutable_log()->set_text(std::move(text));
  sink.send(message);
}

}  // namespace

SocketHostHandshake::SocketHostHandshake(int fd, FrameSink& sink, std::filesystem::path proc_root)
    : fd_(fd),
      sink_(sink),
      proc_root_(std::move(proc_root)),
      stop_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      reader_([this] { read_loop(); }) {}

SocketHostHandshake::~SocketHostHandshake() {
  const std::uint64_t one = 1;
  if (!stop_ || ::write(stop_.get(), &one, sizeof one) != sizeof one) {
    // Without the eventfd the reader still ends when the agent closes the
    // socket, which it does once this process exits: detach rather than
    // block the exit on it.
    reader_.detach();
    return;
  }
  reader_.join();
}

void SocketHostHandshake::read_loop() {
  MessageDecoder<wire::HostMessage> decoder;
  for (;;) {
    std::array<struct pollfd, 2> fds{{{fd_, POLLIN, 0}, {stop_.get(), POLLIN, 0}}};
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) {
        continue;
      }
      send_log(sink_, wire::Log::ERROR, fmt::format("host handshake: poll: {}", std::strerror(errno)));
      return;
    }
    if (fds[1].revents != 0) {
      return;
    }
    auto buffer = decoder.prepare(64 * 1024);
    const ssize_t n = ::read(fd_, buffer.data(), buffer.size());
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
      continue;
    }
    if (n <= 0) {
      return;  // the agent closed the socket: nothing more will come
    }
    decoder.commit(static_cast<std::size_t>(n));
    while (auto message = decoder.next()) {
      if (!*message) {
        send_log(sink_, wire::Log::ERROR,
                 fmt::format("host handshake: undecodable frame: {}", message->error().describe()));
        return;
      }
      handle(message->value());
    }
  }
}

void SocketHostHandshake::handle(const wire::HostMessage& message) {
  std::unique_lock lock{mutex_};
  if (message.has_accessor_ready()) {
    accessor_ready_ = true;
  } else if (message.has_bpf_write_done()) {
    map_write_ = MapWriteOutcome{message.bpf_write_done().ok(), message.bpf_write_done().error()};
  } else if (message.has_bpf_map_write()) {
    wire::GuestMessage answer;
    auto* result = answer.mutable_bpf_write_result();
    result->set_request(message.bpf_map_write().request());
    for (const auto& write : message.bpf_map_write().writes()) {
      if (maps_) {
        *result->add_results() = maps_->write(write);
      } else {
        auto* failed = result->add_results();
        failed->set_map_id(write.map_id());
        failed->set_map(write.map());
        failed->set_field(write.field());
        failed->set_error("no scheduler maps are held: no scheduler attached");
      }
    }
    lock.unlock();
    sink_.send(answer);
    return;
  } else if (message.has_dump_request()) {
    wire::GuestMessage answer;
    if (maps_) {
      *answer.mutable_bpf_map_dump() = maps_->dump(message.dump_request());
    }
    answer.mutable_bpf_map_dump()->set_request(message.dump_request().request());
    dump_served_ = true;
    lock.unlock();
    sink_.send(answer);
    changed_.notify_all();
    return;
  }
  lock.unlock();
  changed_.notify_all();
}

void SocketHostHandshake::scheduler_attached(const std::string& name, pid_t pid) {
  std::string warning;
  auto ids = process_map_ids(proc_root_, pid);
  if (!ids) {
    warning = ids.error().context("listing the scheduler's BPF maps").message;
  }
  BpfMapSet maps = BpfMapSet::open(ids ? *ids : std::vector<std::uint32_t>{});
  wire::GuestMessage message;
  *message.mutable_bpf_map_catalog() = maps.catalog(name, pid);
  if (!warning.empty()) {
    auto* catalog = message.mutable_bpf_map_catalog();
    catalog->set_warning(catalog->warning().empty() ? warning : warning + "; " + catalog->warning());
  }
  {
    const std::lock_guard lock{mutex_};
    maps_ = std::move(maps);
  }
  sink_.send(message);
}

bool SocketHostHandshake::wait_accessor_ready(ExecutorClock::TimePoint deadline) {
  std::unique_lock lock{mutex_};
  return changed_.wait_until(lock, deadline, [this] { return accessor_ready_; });
}

std::optional<MapWriteOutcome> SocketHostHandshake::wait_map_write(ExecutorClock::TimePoint deadline) {
  std::unique_lock lock{mutex_};
  changed_.wait_until(lock, deadline, [this] { return map_write_.has_value(); });
  return map_write_;
}

void SocketHostHandshake::linger_for_dump(std::chrono::milliseconds budget) {
  std::unique_lock lock{mutex_};
  if (!maps_) {
    return;
  }
  changed_.wait_for(lock, budget, [this] { return dump_served_; });
}

}  // namespace kstep::guest
