// openPty() and setWindowSize(fd, rows, cols): a pseudoterminal pair for `runc exec --tty`
// (runc in the foreground relays between its own stdio terminal and the container's pty) and
// TIOCSWINSZ on its master. Both are a few non-blocking syscalls, so they run synchronously on
// the JS thread; errors throw with code/errno.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "args.h"
#include "errors.h"
#include "ops.h"

namespace berth {
namespace {

/**
 * openPty(): { master, slave, slavePath } — both close-on-exec, neither becomes a controlling
 * terminal, in raw mode (cfmakeraw: no echo, no line editing, no output translation) until the
 * relay configures it: berth only passes bytes through it, and cooked it would echo input and
 * translate output that arrive before runc takes the terminal over.
 */
Napi::Value OpenPty(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) throw MakeSysError(env, "openPty: posix_openpt", errno);
  char name[128];
  if (::grantpt(master) != 0 || ::unlockpt(master) != 0 || ::ptsname_r(master, name, sizeof name) != 0) {
    int err = errno;
    ::close(master);
    throw MakeSysError(env, "openPty: unlock slave", err);
  }
  // TIOCGPTPEER opens exactly this master's peer, with no lookup of /dev/pts/N by name (which can
  // race with another pty reusing the number, or resolve in another devpts instance).
  int slave = ::ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0 && (errno == EINVAL || errno == ENOTTY)) slave = ::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);  // kernel < 4.13
  if (slave < 0) {
    int err = errno;
    ::close(master);
    throw MakeSysError(env, std::string("openPty: open ") + name, err);
  }
  termios mode{};
  if (::tcgetattr(slave, &mode) != 0 || (::cfmakeraw(&mode), ::tcsetattr(slave, TCSANOW, &mode)) != 0) {
    int err = errno;
    ::close(slave);
    ::close(master);
    throw MakeSysError(env, std::string("openPty: set raw mode on ") + name, err);
  }
  Napi::Object pair = Napi::Object::New(env);
  pair.Set("master", Napi::Number::New(env, master));
  pair.Set("slave", Napi::Number::New(env, slave));
  pair.Set("slavePath", Napi::String::New(env, name));
  return pair;
}

/** setWindowSize(fd, rows, cols): TIOCSWINSZ (the kernel sends SIGWINCH to the foreground group). */
Napi::Value SetWindowSize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = static_cast<int>(RequireInteger(info, 0, "setWindowSize", "fd", 0, INT32_MAX));
  auto rows = static_cast<unsigned short>(RequireInteger(info, 1, "setWindowSize", "rows", 0, 65535));
  auto cols = static_cast<unsigned short>(RequireInteger(info, 2, "setWindowSize", "cols", 0, 65535));
  winsize size{};
  size.ws_row = rows;
  size.ws_col = cols;
  if (::ioctl(fd, TIOCSWINSZ, &size) != 0) {
    throw MakeSysError(env, "setWindowSize: TIOCSWINSZ on fd " + std::to_string(fd), errno);
  }
  return env.Undefined();
}

}  // namespace

void InitTerminalOps(Napi::Env env, Napi::Object exports) {
  exports.Set("openPty", Napi::Function::New(env, OpenPty, "openPty"));
  exports.Set("setWindowSize", Napi::Function::New(env, SetWindowSize, "setWindowSize"));
}

}  // namespace berth
