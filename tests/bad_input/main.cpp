#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <sys/stat.h>
#include <sys/wait.h>

#include "bad_input.hpp"

namespace olsgd::bad_input {

Result run_olsgd(const std::string& args, const fs::path& dir, int ranks, const std::string& prefix,
                 const std::string& launcher) {
  // No OpenMP binding set, as on a user's shell: nothing may come ahead of the message.
  std::string cmd = "unset OMP_PROC_BIND OMP_PLACES; " + prefix + " ";
  for (auto at = cmd.find("{dir}"); at != std::string::npos; at = cmd.find("{dir}"))
    cmd.replace(at, 5, dir.string());
  if (ranks > 0)
    cmd += std::string(OLSGD_MPIEXEC) + " " + std::to_string(ranks) + " " + OLSGD_MPIEXEC_PREFLAGS +
           " ";
  const fs::path out = dir / ".stdout", err = dir / ".stderr";
  cmd += launcher + " " + OLSGD_BINARY + " " + args + " >" + out.string() + " 2>" + err.string() +
         " </dev/null";
  const int status = std::system(cmd.c_str());
  Result r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

void make_fifo(const fs::path& path) {
  fs::create_directories(path.parent_path());
  if (mkfifo(path.c_str(), 0600) != 0) throw std::runtime_error("mkfifo " + path.string());
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

Case with_prefix(Case c, std::string prefix) {
  c.prefix = std::move(prefix);
  return c;
}

Case with_io_fault(Case c, const std::string& call, const std::string& suffix, int after) {
  c.launcher = std::string("env LD_PRELOAD=") + OLSGD_IO_FAULT + " 'OLSGD_FAULT=" + call + " " +
               suffix + "' OLSGD_FAULT_AFTER=" + std::to_string(after);
  return c;
}

std::string inputs(const std::string& name) {
  return std::string(OLSGD_INPUTS) + "/" + name;
}

std::string as_plain_user() {
  return geteuid() == 0 ? "setpriv --inh-caps=-all --bounding-set=-dac_override,-dac_read_search "
                        : "";
}

std::string tiny_run(const fs::path& dir) {
  return inputs("least_squares.yaml") +
         " --set run.steps=40 --set run.log_every=10 --set data.samples=512"
         " --set data.features=16 --set run.progress=false --set run.output_dir=" +
         (dir / "out").string();
}

// GoogleTest prints a failing parameter with this instead of its bytes.
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name;
}

namespace {

std::vector<Case> all_cases() {
  std::vector<Case> all;
  for (auto table : {deck_cases, data_cases, checkpoint_cases, output_cases})
    for (auto& c : table()) all.push_back(std::move(c));
  return all;
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

class BadInput : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/olsgd-bad-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }
  fs::path dir_;
};

TEST_P(BadInput, one_line_and_the_exit_code) {
  const Case& c = GetParam();
  const std::string args = c.prepare(dir_);
  const Result r = run_olsgd(args, dir_, c.ranks, c.prefix, c.launcher);
  SCOPED_TRACE("olsgd " + args);
  EXPECT_EQ(r.code, c.exit_code) << r.err;
  const auto lines = lines_of(r.err);
  ASSERT_EQ(lines.size(), 1u) << "stderr:\n" << r.err;
  // Every failure the ranks agree on is one "olsgd: error:" line, whatever its exit code.
  EXPECT_EQ(lines[0].rfind("olsgd: error: ", 0), 0u) << lines[0];
  EXPECT_TRUE(std::regex_search(lines[0], std::regex(c.message)))
      << lines[0] << "\nexpected (regex): " << c.message;
  if (c.after) c.after(dir_, r);
}

INSTANTIATE_TEST_SUITE_P(Every, BadInput, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace olsgd::bad_input
