// connectInNetns(netnsPath, host, port): a throwaway std::thread enters the network namespace
// (setns affects that thread only), connects a TCP socket and exits, so its namespace never
// reaches other work; the libuv pool is never used. The result comes back through a
// thread-safe function, which resolves the promise on the JS thread.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>
#include <thread>

#include "args.h"
#include "errors.h"
#include "ops.h"

namespace berth {
namespace {

/** How long a connect may take before it fails with ETIMEDOUT (no SYN answer, e.g. a DROP rule). */
constexpr int kConnectTimeoutMs = 30000;

struct ConnectRequest {
  explicit ConnectRequest(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) {}
  std::string netns_path;
  std::string host;
  int port = 0;
  sockaddr_storage address{};
  socklen_t address_length = 0;
  Napi::Promise::Deferred deferred;
  int fd = -1;
  int error = 0;
  std::string failed_step;
};

void DeliverResult(Napi::Env env, Napi::Function, void*, ConnectRequest* request) {
  if (env != nullptr) {
    if (request->error != 0) {
      request->deferred.Reject(
          MakeSysError(env, "connectInNetns: " + request->failed_step, request->error).Value());
    } else {
      request->deferred.Resolve(Napi::Number::New(env, request->fd));
    }
  } else if (request->fd >= 0) {
    ::close(request->fd);  // the environment is gone: nobody will take the fd
  }
  delete request;
}

using ResultChannel = Napi::TypedThreadSafeFunction<void, ConnectRequest, DeliverResult>;

void Fail(ConnectRequest* request, std::string step, int err) {
  request->error = err;
  request->failed_step = std::move(step);
  if (request->fd >= 0) ::close(request->fd);
  request->fd = -1;
}

/** Runs on the throwaway thread. */
void ConnectOnThread(ConnectRequest* request) {
  std::string target = request->host + " port " + std::to_string(request->port) + " in " + request->netns_path;
  int ns_fd = ::open(request->netns_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (ns_fd < 0) return Fail(request, "open " + request->netns_path, errno);
  int rc = ::setns(ns_fd, CLONE_NEWNET);
  int setns_errno = errno;
  ::close(ns_fd);
  if (rc != 0) return Fail(request, "setns " + request->netns_path, setns_errno);

  request->fd = ::socket(request->address.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (request->fd < 0) return Fail(request, "socket for " + target, errno);
  if (::connect(request->fd, reinterpret_cast<sockaddr*>(&request->address), request->address_length) == 0) return;
  if (errno != EINPROGRESS) return Fail(request, "connect to " + target, errno);
  pollfd waiting{request->fd, POLLOUT, 0};
  int ready;
  do ready = ::poll(&waiting, 1, kConnectTimeoutMs); while (ready < 0 && errno == EINTR);
  if (ready < 0) return Fail(request, "poll connect to " + target, errno);
  if (ready == 0) return Fail(request, "connect to " + target, ETIMEDOUT);
  int socket_error = 0;
  socklen_t length = sizeof socket_error;
  if (::getsockopt(request->fd, SOL_SOCKET, SO_ERROR, &socket_error, &length) != 0) socket_error = errno;
  if (socket_error != 0) return Fail(request, "connect to " + target, socket_error);
}

/** Fills the request's address from an IPv4 or IPv6 literal ("[::1]" accepted). */
bool ParseAddress(ConnectRequest* request) {
  std::string host = request->host;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&request->address);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(request->port));
    request->address_length = sizeof(sockaddr_in);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&request->address);
  if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(request->port));
    request->address_length = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

/** connectInNetns(netnsPath, host, port): Promise<number> — a connected, non-blocking TCP fd. */
Napi::Value ConnectInNetns(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* request = new ConnectRequest(env);
  try {
    request->netns_path = RequireNonEmptyString(info, 0, "connectInNetns", "netnsPath");
    request->host = RequireNonEmptyString(info, 1, "connectInNetns", "host");
    request->port = static_cast<int>(RequireInteger(info, 2, "connectInNetns", "port", 1, 65535));
    if (!ParseAddress(request)) {
      throw Napi::TypeError::New(env, "connectInNetns: host must be an IPv4 or IPv6 literal, got '" + request->host + "'");
    }
  } catch (...) {
    delete request;
    throw;
  }
  Napi::Promise promise = request->deferred.Promise();
  ResultChannel channel = ResultChannel::New(env, "berth:connectInNetns", 0, 1);
  try {
    std::thread([request, channel]() mutable {
      ConnectOnThread(request);
      if (channel.BlockingCall(request) != napi_ok) {
        // The environment is shutting down: the result has nowhere to go.
        if (request->fd >= 0) ::close(request->fd);
        delete request;
      }
      channel.Release();
    }).detach();
  } catch (const std::system_error& error) {
    channel.Release();
    request->deferred.Reject(MakeSysError(env, "connectInNetns: start thread", error.code().value()).Value());
    delete request;
  }
  return promise;
}

}  // namespace

void InitConnectInNetns(Napi::Env env, Napi::Object exports) {
  exports.Set("connectInNetns", Napi::Function::New(env, ConnectInNetns, "connectInNetns"));
}

}  // namespace berth
