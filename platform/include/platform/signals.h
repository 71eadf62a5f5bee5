#pragma once
/// @file
/// SignalSet: termination and reload signals read from a file descriptor (signalfd(2)) that the
/// event loop polls, instead of asynchronous handlers and a global flag.
///
/// Contract:
/// - open() blocks the given signals in the *calling thread's* mask (pthread_sigmask) and creates
///   a non-blocking, close-on-exec signalfd for them. Threads created afterwards inherit the mask,
///   so call open() on the main thread before starting any other thread; a thread that does not
///   block the signals could otherwise receive a process-directed signal with its default action.
/// - read() returns the next pending signal number, or 0 when none is pending (never blocks).
/// - close() (and the destructor) closes the fd and restores the mask open() found. A signal that
///   is still pending at that moment is then delivered with its current disposition.
///
/// Ownership: the object owns the fd; move-only. No global or static state.
/// Thread safety: one object per thread; not safe for concurrent use.
/// Errors: std::error_code in the system category (errno of the failing call).

#include <signal.h>

#include <initializer_list>
#include <system_error>

namespace edgeid::platform {

class SignalSet {
 public:
  SignalSet() noexcept = default;
  ~SignalSet();
  SignalSet(SignalSet&& other) noexcept;
  SignalSet& operator=(SignalSet&& other) noexcept;
  SignalSet(const SignalSet&) = delete;
  SignalSet& operator=(const SignalSet&) = delete;

  /// Blocks @p signals and opens the fd. The default set is what a daemon must handle:
  /// SIGTERM and SIGINT (stop) and SIGHUP (reload). Fails with EBUSY if already open.
  std::error_code open(std::initializer_list<int> signals = {SIGTERM, SIGINT, SIGHUP});

  /// The signalfd to poll for readability (EPOLLIN/POLLIN), or -1 when closed.
  int fd() const noexcept { return fd_; }
  bool is_open() const noexcept { return fd_ >= 0; }

  /// Reads one pending signal into @p signo (0 when none is pending).
  std::error_code read(int& signo) noexcept;

  void close() noexcept;

 private:
  int fd_ = -1;
  sigset_t previous_mask_{};
};

}  // namespace edgeid::platform
