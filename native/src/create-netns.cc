// createNetns(pinPath): a new network namespace with `lo` up, pinned by a bind mount on the
// existing empty file `pinPath`. A throwaway std::thread unshares (the namespace change stays
// with that thread, never a pool thread), brings lo up (the kernel then gives it 127.0.0.1 and
// ::1, what the CNI loopback plugin does with a process exec) and bind-mounts its own
// /proc/thread-self/ns/net; the pin keeps the namespace alive after the thread exits.
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>
#include <thread>

#include "ops.h"
#include "promise-worker.h"

namespace berth {
namespace {

/** Sets IFF_UP on the loopback interface of the calling thread's netns; 0 or an errno. */
int BringUpLoopback() {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  ifreq request;
  std::memset(&request, 0, sizeof request);
  std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
  int err = 0;
  if (::ioctl(fd, SIOCGIFFLAGS, &request) != 0) {
    err = errno;
  } else {
    request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP);
    if (::ioctl(fd, SIOCSIFFLAGS, &request) != 0) err = errno;
  }
  ::close(fd);
  return err;
}

class CreateNetnsWorker : public PromiseWorker {
 public:
  CreateNetnsWorker(Napi::Env env, std::string pin_path) : PromiseWorker(env, "berth:createNetns"), pin_path_(std::move(pin_path)) {}

  void Execute() override {
    std::string step;
    int err = 0;
    try {
      std::thread creator([&]() {
        if (::unshare(CLONE_NEWNET) != 0) {
          err = errno;
          step = "unshare a network namespace";
        } else if ((err = BringUpLoopback()) != 0) {
          step = "bring up lo in the new network namespace";
        } else if (::mount("/proc/thread-self/ns/net", pin_path_.c_str(), nullptr, MS_BIND, nullptr) != 0) {
          err = errno;
          step = "pin the new network namespace on " + pin_path_;
        }
      });
      creator.join();
    } catch (const std::system_error& error) {
      err = error.code().value() != 0 ? error.code().value() : EAGAIN;
      step = "start a thread for the new network namespace";
    }
    if (err != 0) Fail("createNetns: " + step, err);
  }

 private:
  std::string pin_path_;
};

/** createNetns(pinPath): Promise<void>. */
Napi::Value CreateNetns(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "createNetns: pinPath must be a string");
  std::string pin = info[0].As<Napi::String>().Utf8Value();
  if (pin.empty() || pin.front() != '/' || pin.find('\0') != std::string::npos) {
    throw Napi::TypeError::New(env, "createNetns: pinPath must be an absolute path");
  }
  return (new CreateNetnsWorker(env, std::move(pin)))->Start();
}

}  // namespace

void InitCreateNetns(Napi::Env env, Napi::Object exports) {
  exports.Set("createNetns", Napi::Function::New(env, CreateNetns, "createNetns"));
}

}  // namespace berth
