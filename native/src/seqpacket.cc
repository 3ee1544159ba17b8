// SOCK_SEQPACKET unix sockets, which libuv (and so Node's net) cannot wrap: conmon's attach
// socket speaks them. connectSeqpacket(path) connects on the pool (a unix connect never blocks
// long and changes no namespace) and resolves with a non-blocking, close-on-exec fd;
// SeqpacketChannel(fd, onPacket, onEnd) then owns that fd (made O_NONBLOCK): a uv_poll on Node's
// loop read()s it (one Buffer per read: on a seqpacket socket one packet, so framing survives) and
// send() write()s without blocking. The same channel serves a pty master, which Node can only wrap
// as a tty.ReadStream whose writes block the whole event loop when the terminal is full (libuv
// falls back to blocking writes for a master). No thread is held.
#include <fcntl.h>
#include <libgen.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "args.h"
#include "errors.h"
#include "ops.h"
#include "promise-worker.h"

namespace berth {
namespace {

/** The largest packet read; conmon writes at most 8192 bytes + 1 stream byte. */
constexpr size_t kMaxPacket = 64 * 1024;
/** Packets read per poll callback before yielding to the rest of the loop. */
constexpr int kPacketsPerWakeup = 64;

class ConnectSeqpacketWorker : public PromiseWorker {
 public:
  ConnectSeqpacketWorker(Napi::Env env, std::string path)
      : PromiseWorker(env, "berth:connectSeqpacket"), path_(std::move(path)) {}

  void Execute() override {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    int dir_fd = -1;
    if (path_.size() < sizeof(address.sun_path)) {
      std::memcpy(address.sun_path, path_.c_str(), path_.size() + 1);
    } else {
      // Too long for sun_path: reach the socket through an O_PATH fd of its directory, as conmon
      // itself binds it.
      std::vector<char> dir_copy(path_.begin(), path_.end());
      dir_copy.push_back('\0');
      std::vector<char> base_copy = dir_copy;
      dir_fd = ::open(::dirname(dir_copy.data()), O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (dir_fd < 0) return Fail("connectSeqpacket: open directory of " + path_, errno);
      std::string short_path = "/proc/self/fd/" + std::to_string(dir_fd) + "/" + ::basename(base_copy.data());
      if (short_path.size() >= sizeof(address.sun_path)) {
        ::close(dir_fd);
        return Fail("connectSeqpacket: socket name of " + path_, ENAMETOOLONG);
      }
      std::memcpy(address.sun_path, short_path.c_str(), short_path.size() + 1);
    }
    fd_ = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
      if (dir_fd >= 0) ::close(dir_fd);
      return Fail("connectSeqpacket: socket for " + path_, errno);
    }
    int rc;
    do rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address); while (rc != 0 && errno == EINTR);
    int connect_errno = errno;
    if (dir_fd >= 0) ::close(dir_fd);
    if (rc != 0) {
      ::close(fd_);
      fd_ = -1;
      return Fail("connectSeqpacket: connect " + path_, connect_errno);
    }
    int flags = ::fcntl(fd_, F_GETFL);
    if (flags < 0 || ::fcntl(fd_, F_SETFL, flags | O_NONBLOCK) != 0) {
      int err = errno;
      ::close(fd_);
      fd_ = -1;
      return Fail("connectSeqpacket: set O_NONBLOCK on " + path_, err);
    }
  }

 protected:
  Napi::Value Result(Napi::Env env) override { return Napi::Number::New(env, fd_); }

 private:
  std::string path_;
  int fd_ = -1;
};

/** connectSeqpacket(path): Promise<number>. */
Napi::Value ConnectSeqpacket(const Napi::CallbackInfo& info) {
  std::string path = RequireNonEmptyString(info, 0, "connectSeqpacket", "path");
  return (new ConnectSeqpacketWorker(info.Env(), std::move(path)))->Start();
}

/**
 * Poll state: outlives the JS wrapper until libuv has closed the handle (uv_close is
 * asynchronous), and the wrapper until it is collected; freed when both are done.
 */
struct ChannelState {
  uv_poll_t poll;
  napi_env env = nullptr;
  int fd = -1;
  Napi::FunctionReference on_packet;
  Napi::FunctionReference on_end;
  Napi::AsyncContext* context = nullptr;
  bool polling = false;
  bool paused = false;
  bool ended = false;
  bool closing = false;
  bool handle_closed = false;
  bool wrapper_gone = false;
  bool env_tearing_down = false;
};

void MaybeDelete(ChannelState* state) {
  if (state->handle_closed && state->wrapper_gone) delete state;
}

void OnHandleClosed(uv_handle_t* handle) {
  auto* state = static_cast<ChannelState*>(handle->data);
  ::close(state->fd);
  if (state->env_tearing_down) {
    state->on_packet.SuppressDestruct();
    state->on_end.SuppressDestruct();
  } else {
    state->on_packet.Reset();
    state->on_end.Reset();
    delete state->context;
  }
  state->context = nullptr;
  state->handle_closed = true;
  MaybeDelete(state);
}

void OnEnvTeardown(void* arg);

void CloseChannel(ChannelState* state) {
  if (state->closing) return;
  state->closing = true;
  if (!state->env_tearing_down) napi_remove_env_cleanup_hook(state->env, OnEnvTeardown, state);
  uv_poll_stop(&state->poll);
  state->polling = false;
  uv_close(reinterpret_cast<uv_handle_t*>(&state->poll), OnHandleClosed);
}

void OnEnvTeardown(void* arg) {
  auto* state = static_cast<ChannelState*>(arg);
  state->env_tearing_down = true;
  CloseChannel(state);
}

/** Calls a JS callback; an exception nobody can catch becomes an uncaught exception. */
void Invoke(ChannelState* state, Napi::FunctionReference& callback, const std::initializer_list<napi_value>& args) {
  Napi::Env env(state->env);
  try {
    callback.Value().MakeCallback(env.Global(), args, *state->context);
  } catch (const Napi::Error& error) {
    napi_fatal_exception(env, error.Value());
  }
}

/** Stops reading for good and reports the end (error 0 = orderly EOF). */
void EndChannel(ChannelState* state, int error) {
  state->ended = true;
  uv_poll_stop(&state->poll);
  state->polling = false;
  Napi::Env env(state->env);
  Napi::Value reason = error == 0 ? env.Undefined() : MakeSysError(env, "seqpacket channel: read", error).Value();
  Invoke(state, state->on_end, {reason});
}

void OnPoll(uv_poll_t* handle, int status, int) {
  auto* state = static_cast<ChannelState*>(handle->data);
  if (state->closing || state->ended) return;
  Napi::Env env(state->env);
  Napi::HandleScope scope(env);
  if (status < 0) return EndChannel(state, -status);
  static thread_local std::vector<char> buffer(kMaxPacket);
  for (int i = 0; i < kPacketsPerWakeup; i++) {
    ssize_t n = ::read(state->fd, buffer.data(), buffer.size());
    if (n > 0) {
      Napi::Buffer<char> packet = Napi::Buffer<char>::Copy(env, buffer.data(), static_cast<size_t>(n));
      Invoke(state, state->on_packet, {packet});
      if (state->closing || state->ended || state->paused) return;
      continue;
    }
    if (n == 0) return EndChannel(state, 0);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    return EndChannel(state, errno);
  }
}

void StartPolling(ChannelState* state) {
  if (state->polling || state->paused || state->ended || state->closing) return;
  int rc = uv_poll_start(&state->poll, UV_READABLE, OnPoll);
  if (rc == 0) state->polling = true;
}

class SeqpacketChannel : public Napi::ObjectWrap<SeqpacketChannel> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "SeqpacketChannel",
                       {InstanceMethod("send", &SeqpacketChannel::Send),
                        InstanceMethod("shutdownWrite", &SeqpacketChannel::ShutdownWrite),
                        InstanceMethod("pause", &SeqpacketChannel::Pause),
                        InstanceMethod("resume", &SeqpacketChannel::Resume),
                        InstanceMethod("close", &SeqpacketChannel::Close)});
  }

  /** new SeqpacketChannel(fd, onPacket(buffer), onEnd(error?)): takes ownership of fd, starts reading. */
  explicit SeqpacketChannel(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SeqpacketChannel>(info) {
    Napi::Env env = info.Env();
    int fd = static_cast<int>(RequireInteger(info, 0, "SeqpacketChannel", "fd", 0, INT32_MAX));
    if (info.Length() < 3 || !info[1].IsFunction() || !info[2].IsFunction()) {
      throw Napi::TypeError::New(env, "SeqpacketChannel: onPacket and onEnd must be functions");
    }
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) throw Napi::Error::New(env, "SeqpacketChannel: no event loop");
    int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
      throw MakeSysError(env, "SeqpacketChannel: set O_NONBLOCK on fd " + std::to_string(fd), errno);
    }
    auto* state = new ChannelState();
    state->env = env;
    state->fd = fd;
    state->poll.data = state;
    int rc = uv_poll_init(loop, &state->poll, fd);
    if (rc != 0) {
      delete state;
      throw MakeSysError(env, "SeqpacketChannel: poll fd " + std::to_string(fd), -rc);
    }
    state->on_packet = Napi::Persistent(info[1].As<Napi::Function>());
    state->on_end = Napi::Persistent(info[2].As<Napi::Function>());
    state->context = new Napi::AsyncContext(env, "berth:SeqpacketChannel");
    napi_add_env_cleanup_hook(env, OnEnvTeardown, state);
    state_ = state;
    StartPolling(state);
  }

  ~SeqpacketChannel() override {
    // Collected without close(): release the fd now rather than never.
    state_->wrapper_gone = true;
    if (!state_->closing) {
      state_->on_packet.SuppressDestruct();
      state_->on_end.SuppressDestruct();
      CloseChannel(state_);
    }
    MaybeDelete(state_);
  }

 private:
  /** send(buffer): bytes written (all of it for a packet), 0 when the peer is full (EAGAIN). */
  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsBuffer()) throw Napi::TypeError::New(env, "SeqpacketChannel.send: data must be a Buffer");
    if (state_->closing) throw MakeSysError(env, "seqpacket channel: send after close", EBADF);
    Napi::Buffer<char> data = info[0].As<Napi::Buffer<char>>();
    for (;;) {
      // write(), not send(): the fd may be a pty. Node ignores SIGPIPE, so a gone peer is EPIPE.
      ssize_t n = ::write(state_->fd, data.Data(), data.Length());
      if (n >= 0) return Napi::Number::New(env, static_cast<double>(n));
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return Napi::Number::New(env, 0);
      throw MakeSysError(env, "seqpacket channel: write", errno);
    }
  }

  /** shutdownWrite(): the peer reads end-of-file (conmon then closes the container's stdin). */
  Napi::Value ShutdownWrite(const Napi::CallbackInfo& info) {
    if (!state_->closing && ::shutdown(state_->fd, SHUT_WR) != 0 && errno != ENOTCONN) {
      throw MakeSysError(info.Env(), "seqpacket channel: shutdown", errno);
    }
    return info.Env().Undefined();
  }

  Napi::Value Pause(const Napi::CallbackInfo& info) {
    state_->paused = true;
    if (state_->polling && !state_->closing) {
      uv_poll_stop(&state_->poll);
      state_->polling = false;
    }
    return info.Env().Undefined();
  }

  Napi::Value Resume(const Napi::CallbackInfo& info) {
    state_->paused = false;
    StartPolling(state_);
    return info.Env().Undefined();
  }

  /** close(): stops reading and closes the fd (idempotent). */
  Napi::Value Close(const Napi::CallbackInfo& info) {
    CloseChannel(state_);
    return info.Env().Undefined();
  }

  ChannelState* state_ = nullptr;
};

}  // namespace

void InitSeqpacket(Napi::Env env, Napi::Object exports) {
  exports.Set("connectSeqpacket", Napi::Function::New(env, ConnectSeqpacket, "connectSeqpacket"));
  exports.Set("SeqpacketChannel", SeqpacketChannel::Define(env));
}

}  // namespace berth
