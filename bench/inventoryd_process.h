// A child inventoryd for load generators: `inventoryd serve` on a data dir
// (127.0.0.1, a free port), started in the constructor, which returns once
// the server prints its "listening on host:port" line, and stopped with
// SIGTERM by Stop() or the destructor. The data dir is removed on destruction
// when the process owns it. With `log_file`, the server's stderr (its log)
// goes there instead of ours.
//
// Thread-safety: one owner; address() may be read from any thread.
#ifndef BENCH_INVENTORYD_PROCESS_H_
#define BENCH_INVENTORYD_PROCESS_H_

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace bench {

class InventorydProcess {
 public:
  // Starts `binary serve --data-dir=<dir>/data`. With an empty `dir`, a fresh
  // temporary dir named after `tag` and the pid, removed on destruction.
  // Exits the program when the server does not start.
  InventorydProcess(const std::string& binary, const std::string& tag, std::filesystem::path dir = {},
                    std::vector<std::string> extra_flags = {}, std::string log_file = {}) {
    owns_dir_ = dir.empty();
    dir_ = owns_dir_ ? std::filesystem::temp_directory_path() / (tag + "-" + std::to_string(getpid())) : dir;
    std::filesystem::create_directories(dir_);
    int out[2];
    if (pipe(out) != 0) std::abort();
    std::string data = "--data-dir=" + data_dir().string();
    std::vector<std::string> args = {binary, "serve", data, "--listen=127.0.0.1:0", "--snapshot-every-events=0"};
    args.insert(args.end(), extra_flags.begin(), extra_flags.end());
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGTERM);  // no orphan server if the load generator dies
      dup2(out[1], 1);
      if (!log_file.empty()) {
        FILE* log = std::fopen(log_file.c_str(), "a");
        if (log != nullptr) dup2(fileno(log), 2);
      }
      close(out[0]);
      close(out[1]);
      execv(binary.c_str(), argv.data());
      _exit(127);
    }
    close(out[1]);
    std::string line;
    char c;
    while (read(out[0], &c, 1) == 1 && c != '\n') line.push_back(c);
    close(out[0]);
    std::size_t at = line.rfind(' ');
    if (line.rfind("listening on ", 0) != 0 || at == std::string::npos) {
      std::fprintf(stderr, "inventoryd did not start (%s)\n", line.c_str());
      Stop();
      std::exit(1);
    }
    address_ = line.substr(at + 1);
  }
  ~InventorydProcess() {
    Stop();
    if (owns_dir_) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }
  InventorydProcess(const InventorydProcess&) = delete;
  InventorydProcess& operator=(const InventorydProcess&) = delete;

  // SIGTERM and wait: the server finishes queued commands and exits. Idempotent.
  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  const std::string& address() const { return address_; }
  // The server's pid while it runs, else -1.
  int pid() const { return pid_; }
  std::filesystem::path data_dir() const { return dir_ / "data"; }

 private:
  std::filesystem::path dir_;
  bool owns_dir_ = true;
  pid_t pid_ = -1;
  std::string address_;
};

}  // namespace bench

#endif  // BENCH_INVENTORYD_PROCESS_H_
