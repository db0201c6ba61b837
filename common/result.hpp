// Result<T, E>: the one type for expected failures across kstep.
//
// Library layers return a Result instead of throwing; the layer that decides
// what to do with a failure logs it once, with context. Exceptions are kept
// for the fatal and are caught in main(). (C++23's std::expected would do;
// GCC 12 in C++20 mode does not have it.)
#pragma once

#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include <fmt/format.h>

namespace kstep {

// A human-readable failure. `message` states what went wrong and where
// (file, line, field, frame offset), ready to show to a user.
struct Error {
  std::string message;

  // Prefixes context, e.g. err.context("reading /proc/cpuinfo").
  [[nodiscard]] Error context(std::string_view what) const {
    return Error{fmt::format("{}: {}", what, message)};
  }
};

template <class... Args>
[[nodiscard]] Error make_error(fmt::format_string<Args...> format, Args&&... args) {
  return Error{fmt::format(format, std::forward<Args>(args)...)};
}

// Wraps an error so it converts to any Result<T, E>.
template <class E>
struct Unexpected {
  E error;
};

template <class E>
Unexpected(E) -> Unexpected<E>;

template <class... Args>
[[nodiscard]] Unexpected<Error> fail(fmt::format_string<Args...> format, Args&&... args) {
  return Unexpected<Error>{Error{fmt::format(format, std::forward<Args>(args)...)}};
}

template <class T, class E = Error>
class [[nodiscard]] Result {
 public:
  // NOLINTBEGIN(google-explicit-constructor): implicit by design, like std::expected.
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
  template <class U>
  requires std::is_convertible_v<U, E> Result(Unexpected<U> unexpected)
      : state_(std::in_place_index<1>, std::move(unexpected.error)) {}
  // NOLINTEND(google-explicit-constructor)

  [[nodiscard]] bool ok() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  [[nodiscard]] T& value() & { return std::get<0>(state_); }
  [[nodiscard]] const T& value() const& { return std::get<0>(state_); }
  [[nodiscard]] T&& value() && { return std::get<0>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  [[nodiscard]] const E& error() const& { return std::get<1>(state_); }
  [[nodiscard]] E&& error() && { return std::get<1>(std::move(state_)); }

 private:
  std::variant<T, E> state_;
};

template <class E>
class [[nodiscard]] Result<void, E> {
 public:
  Result() = default;
  // NOLINTNEXTLINE(google-explicit-constructor)
  template <class U>
  requires std::is_convertible_v<U, E> Result(Unexpected<U> unexpected)
      : error_(std::move(unexpected.error)) {}

  [[nodiscard]] bool ok() const noexcept { return !error_.has_value(); }
  explicit operator bool() const noexcept { return ok(); }
  [[nodiscard]] const E& error() const& { return *error_; }
  [[nodiscard]] E&& error() && { return std::move(*error_); }

 private:
  std::optional<E> error_;
};

// Propagates the error of `expr` (a Result) out of the enclosing function.
#define KSTEP_TRY(expr)                                                 \
  do {                                                                  \
    if (auto kstep_try_result_ = (expr); !kstep_try_result_) {          \
      return ::kstep::Unexpected{std::move(kstep_try_result_).error()}; \
    }                                                                   \
  } while (false)

}  // namespace kstep
