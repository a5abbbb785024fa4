// A libFuzzer-free driver for the fuzz harnesses, so every `make test` runs them under gcc (and
// under ASan/UBSan in the sanitizer build) without clang: it replays each file of a corpus
// directory, then N deterministic mutations of them (fixed seed: a failure reproduces).
//
//   fuzz_http_parser_replay CORPUS_DIR [MUTATIONS]
//
// Mutations are what libFuzzer's do first: overwrite, insert, erase, duplicate a span, splice
// two inputs, truncate; each input stays at most 20,000 bytes (the parser's limit is 16 KiB).
// An input that breaks an invariant or runs over 10 s is saved as crash-replay-input in the
// current directory.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

constexpr size_t kMaxInputBytes = 20000;
constexpr unsigned kSecondsPerInput = 10;

// The input being run, kept where an abort or a timeout can still find it.
const std::string* g_current = nullptr;

// On abort (a broken invariant, an escaped exception) or an input's timeout: the input to crash-replay-input in the
// current directory, as libFuzzer's crash-<sha1> would be. Only async-signal-safe calls.
void SaveInputOnAbort(int sig) {
  if (g_current != nullptr) {
    int fd = ::open("crash-replay-input", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ssize_t ignored = ::write(fd, g_current->data(), g_current->size());
      (void)ignored;
      ::close(fd);
    }
  }
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void Run(const std::string& input) {
  // A copy in its own allocation, so ASan sees a read past the end.
  std::vector<uint8_t> bytes(input.begin(), input.end());
  g_current = &input;
  ::alarm(kSecondsPerInput);  // a hang is a finding too (libFuzzer's -timeout)
  LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
  ::alarm(0);
  g_current = nullptr;
}

std::string Mutate(std::string s, const std::vector<std::string>& corpus, std::mt19937_64& rng) {
  static const char kBytes[] = "\r\n :,;=-/\t0123456789aAzZ\"*%\x00\x7f\x80\xff";
  auto pick = [&](size_t n) { return n == 0 ? size_t{0} : static_cast<size_t>(rng() % n); };
  int edits = 1 + static_cast<int>(rng() % 6);
  for (int e = 0; e < edits; ++e) {
    size_t pos = pick(s.size() + 1);
    switch (rng() % 7) {
      case 0:
        if (!s.empty()) s[pick(s.size())] = kBytes[pick(sizeof kBytes - 1)];
        break;
      case 1:
        s.insert(pos, 1, kBytes[pick(sizeof kBytes - 1)]);
        break;
      case 2:
        s.erase(pos, 1 + pick(8));
        break;
      case 3: {  // duplicate a span (repeated headers, long lines)
        size_t len = pick(64) + 1;
        std::string span = s.substr(pos, len);
        for (int k = 0, reps = 1 + static_cast<int>(rng() % 300); k < reps; ++k)
          s.insert(pos, span);
        break;
      }
      case 4: {  // splice in part of another input
        const std::string& other = corpus[pick(corpus.size())];
        size_t from = pick(other.size() + 1);
        s.insert(pos, other.substr(from, pick(other.size() - from + 1)));
        break;
      }
      case 5:
        s.resize(pos);
        break;
      default:
        if (!s.empty()) s[pick(s.size())] ^= static_cast<char>(1u << (rng() % 8));
        break;
    }
    if (s.size() > kMaxInputBytes) s.resize(kMaxInputBytes);
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR [MUTATIONS]\n", argv[0]);
    return 2;
  }
  long mutations = argc > 2 ? std::atol(argv[2]) : 100000;
  std::signal(SIGABRT, SaveInputOnAbort);
  std::signal(SIGALRM, SaveInputOnAbort);
  std::vector<std::filesystem::path> paths;
  for (const auto& e : std::filesystem::directory_iterator(argv[1]))
    if (e.is_regular_file()) paths.push_back(e.path());
  std::sort(paths.begin(), paths.end());  // directory order varies; the seed must not
  std::vector<std::string> corpus;
  for (const auto& p : paths) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    corpus.push_back(ss.str());
  }
  if (corpus.empty()) {
    std::fprintf(stderr, "%s: no corpus files in %s\n", argv[0], argv[1]);
    return 2;
  }
  for (const std::string& c : corpus) Run(c);
  std::mt19937_64 rng(20261203);
  for (long i = 0; i < mutations; ++i) Run(Mutate(corpus[i % corpus.size()], corpus, rng));
  std::printf("%zu corpus files and %ld mutations: no invariant broken\n", corpus.size(), mutations);
  return 0;
}
