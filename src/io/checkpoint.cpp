#include <olsgd/core/error.hpp>
#include <olsgd/core/files.hpp>
#include <olsgd/io/checkpoint.hpp>
#include <olsgd/io/restart_rules.hpp>

#include <hdf5.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <stdexcept>
#include <vector>

#include "checkpoint_dir.hpp"
#include "disk_space.hpp"

namespace olsgd::io {
namespace {

namespace fs = std::filesystem;

// An HDF5 handle closed on scope exit.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle(hid_t id, Closer close) : id_(id), close_(close) {}
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = -1; }
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      if (id_ >= 0) close_(id_);
      id_ = o.id_;
      close_ = o.close_;
      o.id_ = -1;
    }
    return *this;
  }
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }
  // Closes now (H5Fclose flushes): returns whether it succeeded.
  bool close() {
    const bool ok = id_ < 0 || close_(id_) >= 0;
    id_ = -1;
    return ok;
  }

 private:
  hid_t id_;
  Closer close_;
};

// HDF5 prints its error stack by default; olsgd reports one line of its own instead.
void silence_hdf5() {
  static const bool done = (H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr), true);
  (void)done;
}

void check(herr_t status, const std::string& what) {
  if (status < 0) throw std::runtime_error(what);
}
hid_t check_id(hid_t id, const std::string& what) {
  if (id < 0) throw std::runtime_error(what);
  return id;
}

std::uint64_t fnv1a(std::uint64_t h, const void* data, std::size_t bytes) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < bytes; ++i) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}
constexpr std::uint64_t kFnvBasis = 1469598103934665603ull;

template <class Scalar>
hid_t h5_type() {
  return sizeof(Scalar) == 4 ? H5T_NATIVE_FLOAT : H5T_NATIVE_DOUBLE;
}

// ---- writing (rank 0 alone; the other ranks send it their rows) ----

void write_attr(hid_t obj, const char* name, hid_t type, const void* value) {
  Handle space(check_id(H5Screate(H5S_SCALAR), "H5Screate"), H5Sclose);
  Handle attr(check_id(H5Acreate2(obj, name, type, space.get(), H5P_DEFAULT, H5P_DEFAULT),
                       std::string("creating attribute ") + name),
              H5Aclose);
  check(H5Awrite(attr.get(), type, value), std::string("writing attribute ") + name);
}

Handle string_type(std::size_t size) {
  Handle t(check_id(H5Tcopy(H5T_C_S1), "H5Tcopy"), H5Tclose);
  check(H5Tset_size(t.get(), std::max<std::size_t>(size, 1)), "H5Tset_size");
  return t;
}

void write_attr(hid_t obj, const char* name, const std::string& value) {
  const Handle t = string_type(value.size());
  write_attr(obj, name, t.get(), value.c_str());
}

// A scalar string dataset.
void write_string(hid_t file, const char* name, const std::string& value) {
  const Handle t = string_type(value.size());
  Handle space(check_id(H5Screate(H5S_SCALAR), "H5Screate"), H5Sclose);
  Handle ds(
      check_id(H5Dcreate2(file, name, t.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
               std::string("creating /") + name),
      H5Dclose);
  check(H5Dwrite(ds.get(), t.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, value.c_str()),
        std::string("writing /") + name);
}

// A [ranks][n] dataset whose rows olsgd writes itself, after HDF5 has closed the file: its
// space is allocated now and never written by HDF5. Returns its offset in the file.
haddr_t reserve_rows(hid_t parent, const std::string& name, hid_t type, int ranks, std::size_t n) {
  const hsize_t dims[2] = {static_cast<hsize_t>(ranks), static_cast<hsize_t>(n)};
  Handle space(check_id(H5Screate_simple(2, dims, nullptr), "H5Screate_simple"), H5Sclose);
  Handle dcpl(check_id(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate"), H5Pclose);
  check(H5Pset_alloc_time(dcpl.get(), H5D_ALLOC_TIME_EARLY), "H5Pset_alloc_time");
  check(H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER), "H5Pset_fill_time");
  Handle ds(check_id(H5Dcreate2(parent, name.c_str(), type, space.get(), H5P_DEFAULT, dcpl.get(),
                                H5P_DEFAULT),
                     "creating " + name),
            H5Dclose);
  return H5Dget_offset(ds.get());  // (absolute: the user block included)
}

// A [ranks] dataset holding `values`.
template <class T>
void write_column(hid_t parent, const std::string& name, hid_t type, const std::vector<T>& values) {
  const hsize_t n = values.size();
  Handle space(check_id(H5Screate_simple(1, &n, nullptr), "H5Screate_simple"), H5Sclose);
  Handle ds(check_id(H5Dcreate2(parent, name.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT,
                                H5P_DEFAULT),
                     "creating " + name),
            H5Dclose);
  check(H5Dwrite(ds.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), "writing " + name);
}

// Writes all `bytes` at `offset`, or throws naming `path`.
void pwrite_all(int fd, const void* data, std::size_t bytes, off_t offset,
                const std::string& path) {
  const auto* p = static_cast<const unsigned char*>(data);
  while (bytes > 0) {
    const ssize_t n = ::pwrite(fd, p, bytes, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error("writing " + path + " failed: " + std::strerror(errno));
    p += n;
    bytes -= static_cast<std::size_t>(n);
    offset += n;
  }
}

// Copies the parts of `from` that hold data (its holes stay holes) into `to`.
void copy_data(int from, int to, const std::string& path) {
  std::vector<unsigned char> buf(1 << 16);
  for (off_t at = ::lseek(from, 0, SEEK_DATA); at >= 0; at = ::lseek(from, at, SEEK_DATA)) {
    const off_t end = ::lseek(from, at, SEEK_HOLE);
    while (at < end) {
      const ssize_t n =
          ::pread(from, buf.data(), std::min<off_t>(end - at, static_cast<off_t>(buf.size())), at);
      if (n <= 0) throw std::runtime_error("reading back the checkpoint's HDF5 records failed");
      pwrite_all(to, buf.data(), static_cast<std::size_t>(n), at, path);
      at += n;
    }
  }
}

// Every rank's `bytes` at `data`, handed to `take(r, row)` on rank 0 in rank order (rank 0's
// own first); the other ranks send theirs, in pieces, since an MPI count is an int. Rank 0
// receives every row even after `take` has failed, so no rank is left waiting in a send.
void gather_rows(const comm::Communicator& comm, const void* data, std::size_t bytes,
                 const std::function<void(int r, const void* row)>& take) {
  constexpr std::size_t kPiece = std::size_t(1) << 30;
  constexpr int kTag = 7201;
  if (comm.rank() != 0) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t at = 0; at < bytes; at += kPiece)
      MPI_Send(p + at, static_cast<int>(std::min(kPiece, bytes - at)), MPI_BYTE, 0, kTag,
               comm.raw());
    return;
  }
  take(0, data);
  std::vector<unsigned char> row(comm.size() > 1 ? bytes : 0);
  for (int r = 1; r < comm.size(); ++r) {
    for (std::size_t at = 0; at < bytes; at += kPiece)
      MPI_Recv(row.data() + at, static_cast<int>(std::min(kPiece, bytes - at)), MPI_BYTE, r, kTag,
               comm.raw(), MPI_STATUS_IGNORE);
    take(r, row.data());
  }
}

// The layout files of olsgd processes that died before removing theirs (kill -9 while HDF5 was
// laying one out): "<kLayoutPrefix><pid>.h5" whose pid is gone. A writer removes its own within
// milliseconds, so one a minute old is never in use, even by a process this one cannot see (a
// container sharing /dev/shm).
constexpr const char* kLayoutPrefix = "olsgd-layout-";
void remove_orphaned_layouts(const std::string& folder) {
  std::error_code ec;
  const auto minute_ago = fs::file_time_type::clock::now() - std::chrono::minutes(1);
  for (const auto& e : fs::directory_iterator(folder, ec)) {
    const std::string f = e.path().filename().string();
    if (f.rfind(kLayoutPrefix, 0) != 0) continue;
    const long pid = std::atol(f.c_str() + std::strlen(kLayoutPrefix));
    std::error_code age;
    if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH &&
        fs::last_write_time(e.path(), age) < minute_ago && !age)
      fs::remove(e.path(), ec);
  }
}

// Makes the bytes of `path` (and the entry in its folder) durable.
void fsync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0)
    throw std::runtime_error("cannot open " + path + " to sync it: " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) throw std::runtime_error("fsync of " + path + " failed: " + std::strerror(err));
}

// The file's first kUserBlock bytes are an HDF5 user block (HDF5 and h5dump skip it) that
// holds a seal over everything after it: magic, length, FNV-1a. A reader checks the seal before
// libhdf5 parses a byte, so a truncated or damaged file is refused with a clear message and a
// malformed one never reaches the HDF5 parser.
constexpr std::size_t kUserBlock = 512;
constexpr char kSealMagic[8] = {'O', 'L', 'S', 'G', 'D', 'C', 'K', 'P'};
struct Seal {
  char magic[8];
  std::uint64_t length;  // bytes after the user block
  std::uint64_t hash;
};

std::uint64_t hash_after_user_block(std::FILE* f, std::uint64_t& length) {
  std::fseek(f, static_cast<long>(kUserBlock), SEEK_SET);
  std::uint64_t h = kFnvBasis;
  length = 0;
  std::vector<unsigned char> buf(1 << 16);
  for (std::size_t n; (n = std::fread(buf.data(), 1, buf.size(), f)) > 0; length += n)
    h = fnv1a(h, buf.data(), n);
  return h;
}

void write_seal(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "r+b");
  if (!f)
    throw std::runtime_error("cannot reopen " + path + " to seal it: " + std::strerror(errno));
  Seal seal{};
  std::memcpy(seal.magic, kSealMagic, sizeof seal.magic);
  seal.hash = hash_after_user_block(f, seal.length);
  std::fseek(f, 0, SEEK_SET);
  errno = 0;
  const bool ok = std::fwrite(&seal, sizeof seal, 1, f) == 1;
  const int err = errno;
  if (std::fclose(f) != 0 || !ok)
    throw std::runtime_error("cannot seal " + path + ": " + std::strerror(ok ? errno : err));
}

// "" if the seal holds, else what is wrong.
std::string check_seal(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return "cannot open the checkpoint";
  Seal seal{};
  const bool read = std::fread(&seal, sizeof seal, 1, f) == 1;
  if (!read || std::memcmp(seal.magic, kSealMagic, sizeof seal.magic) != 0) {
    std::fclose(f);
    return "not an olsgd checkpoint (no seal; truncated, corrupted or another file)";
  }
  std::uint64_t length = 0;
  const std::uint64_t hash = hash_after_user_block(f, length);
  std::fclose(f);
  if (length != seal.length)
    return "truncated checkpoint: " + std::to_string(length + kUserBlock) + " of " +
           std::to_string(seal.length + kUserBlock) + " bytes";
  if (hash != seal.hash) return "corrupted checkpoint: the file checksum does not match";
  return "";
}

// ---- reading (each rank on its own) ----

std::string read_string_attr(hid_t obj, const char* name) {
  Handle attr(check_id(H5Aopen(obj, name, H5P_DEFAULT), std::string("no attribute ") + name),
              H5Aclose);
  Handle type(check_id(H5Aget_type(attr.get()), "H5Aget_type"), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_STRING)
    throw std::runtime_error(std::string("attribute ") + name + " is not a string");
  std::string value(H5Tget_size(type.get()), '\0');
  check(H5Aread(attr.get(), type.get(), value.data()), std::string("reading attribute ") + name);
  return value.substr(0, value.find('\0'));
}

template <class T>
T read_attr(hid_t obj, const char* name, hid_t type) {
  Handle attr(check_id(H5Aopen(obj, name, H5P_DEFAULT), std::string("no attribute ") + name),
              H5Aclose);
  T value{};
  check(H5Aread(attr.get(), type, &value), std::string("reading attribute ") + name);
  return value;
}

std::string read_string(hid_t file, const char* name) {
  Handle ds(check_id(H5Dopen2(file, name, H5P_DEFAULT), std::string("no dataset ") + name),
            H5Dclose);
  Handle type(check_id(H5Dget_type(ds.get()), "H5Dget_type"), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_STRING)
    throw std::runtime_error(std::string(name) + " is not a string");
  std::string value(H5Tget_size(type.get()), '\0');
  check(H5Dread(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, value.data()),
        std::string("reading ") + name);
  return value.substr(0, value.find('\0'));
}

// Row `rank` of a [ranks][n] dataset (n > 0), or element `rank` of a [ranks] one (n = 0),
// into `out`.
void read_row(hid_t parent, const std::string& name, hid_t type, int ranks, int rank, std::size_t n,
              void* out) {
  Handle ds(check_id(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), "no dataset " + name), H5Dclose);
  Handle space(check_id(H5Dget_space(ds.get()), "H5Dget_space"), H5Sclose);
  const int ndims = H5Sget_simple_extent_ndims(space.get());
  hsize_t dims[2] = {0, 0};
  if (ndims != (n > 0 ? 2 : 1)) throw std::runtime_error(name + " has the wrong shape");
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  if (dims[0] != static_cast<hsize_t>(ranks) || (n > 0 && dims[1] != n))
    throw std::runtime_error(name + " has the wrong shape");
  const hsize_t start[2] = {static_cast<hsize_t>(rank), 0};
  const hsize_t count[2] = {1, static_cast<hsize_t>(n)};
  check(H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr),
        "selecting row of " + name);
  const hsize_t mem_n = n > 0 ? n : 1;
  Handle mem(check_id(H5Screate_simple(1, &mem_n, nullptr), "H5Screate_simple"), H5Sclose);
  check(H5Dread(ds.get(), type, mem.get(), space.get(), H5P_DEFAULT, out), "reading " + name);
}

// The datasets of `group` with their row length (0 for a [ranks] one), in name order;
// throws when one is not [ranks] or [ranks][n].
std::vector<std::pair<std::string, std::size_t>> list_rows(hid_t group, int ranks) {
  H5G_info_t ginfo;
  check(H5Gget_info(group, &ginfo), "H5Gget_info");
  std::vector<std::pair<std::string, std::size_t>> out;
  for (hsize_t i = 0; i < ginfo.nlinks; ++i) {
    const ssize_t len =
        H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (len < 0) throw std::runtime_error("cannot list a group");
    std::string name(static_cast<std::size_t>(len) + 1, '\0');
    H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size(),
                       H5P_DEFAULT);
    name.resize(static_cast<std::size_t>(len));
    Handle ds(check_id(H5Dopen2(group, name.c_str(), H5P_DEFAULT), "no dataset " + name), H5Dclose);
    Handle space(check_id(H5Dget_space(ds.get()), "H5Dget_space"), H5Sclose);
    const int ndims = H5Sget_simple_extent_ndims(space.get());
    hsize_t dims[2] = {0, 0};
    if (ndims < 1 || ndims > 2) throw std::runtime_error(name + " has the wrong shape");
    H5Sget_simple_extent_dims(space.get(), dims, nullptr);
    if (dims[0] != static_cast<hsize_t>(ranks))
      throw std::runtime_error(name + " has the wrong shape");
    out.emplace_back(name, ndims == 2 ? static_cast<std::size_t>(dims[1]) : 0);
  }
  return out;
}

std::size_t in_file_size(const std::vector<std::pair<std::string, std::size_t>>& rows,
                         const std::string& name) {
  for (const auto& [n, size] : rows)
    if (n == name) return size;
  throw std::runtime_error("no dataset " + name);
}

// "a,b,c" -> {a, b, c}
std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size() && !text.empty()) {
    std::size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// Refuses (InputError) a missing file, one that is not a regular file, and one whose seal does
// not match: rank-local, before HDF5 parses anything.
void check_sealed_file(const std::string& path) {
  require_regular_file(path, "checkpoint (an HDF5 file)");
  std::error_code ec;
  if (!fs::exists(path, ec)) throw InputError(path, "checkpoint not found");
  if (const std::string broken = check_seal(path); !broken.empty()) throw InputError(path, broken);
}

Handle open_checkpoint(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw InputError(path, "checkpoint not found");
  if (H5Fis_hdf5(path.c_str()) <= 0)
    throw InputError(path, "not a complete HDF5 checkpoint (truncated or corrupted)");
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.ok())
    throw InputError(path, "cannot open the checkpoint (truncated or corrupted HDF5 file)");
  return file;
}

// The root's attributes and deck; refuses a newer format and a header that cannot be read.
CheckpointInfo read_info(const std::string& path, hid_t f) {
  CheckpointInfo info;
  try {
    info.format = read_attr<int>(f, "format_version", H5T_NATIVE_INT);
  } catch (const std::exception&) {
    throw InputError(path, "not an olsgd checkpoint (no format_version attribute)");
  }
  if (info.format > kCheckpointFormat)
    throw InputError(path, "checkpoint format " + std::to_string(info.format) +
                               " is newer than this olsgd reads (" +
                               std::to_string(kCheckpointFormat) + "); use a newer olsgd");
  try {
    info.olsgd_version = read_string_attr(f, "olsgd_version");
    info.algorithm = read_string_attr(f, "algorithm");
    info.ranks = read_attr<int>(f, "ranks", H5T_NATIVE_INT);
    info.num_params = read_attr<long long>(f, "num_params", H5T_NATIVE_LLONG);
    info.precision = read_string_attr(f, "precision");
    info.step = read_attr<long long>(f, "step", H5T_NATIVE_LLONG);
    info.seed = read_attr<unsigned long long>(f, "seed", H5T_NATIVE_ULLONG);
    info.deck = read_string(f, "deck");
    info.build = read_string(f, "build");
  } catch (const std::exception& e) {
    throw InputError(path, std::string("corrupted checkpoint: ") + e.what());
  }
  if (info.ranks < 1)
    throw InputError(path,
                     "corrupted checkpoint: written on " + std::to_string(info.ranks) + " ranks");
  return info;
}

// The deck's changes against the file's; refuses, by name, a key a restart must not change.
std::vector<DeckChange> checked_deck_changes(const std::string& path, const CheckpointInfo& info,
                                             const CheckpointInfo& expect) {
  auto changes = deck_changes(info.deck, expect.deck, expect.unread_keys);
  if (const std::string refused = refused_changes(changes); !refused.empty())
    throw InputError(path, refused);
  return changes;
}

// What the deck does not explain (another data file of another width, a deck without the
// key): the facts, with the deck keys that differ.
[[noreturn]] void refuse_header(const std::string& path, const std::string& what,
                                const std::string& got, const std::string& want,
                                const std::vector<DeckChange>& changes) {
  throw InputError(path, "the checkpoint holds " + what + " " + got + ", this run has " + want +
                             differing_keys(changes) + "; restart with the deck that wrote it");
}

// The file's state segments with their row lengths (list_rows of /state).
std::vector<std::pair<std::string, std::size_t>> state_rows(const std::string& path, hid_t f,
                                                            int ranks) {
  try {
    Handle group(check_id(H5Gopen2(f, "state", H5P_DEFAULT), "no /state"), H5Gclose);
    return list_rows(group.get(), ranks);
  } catch (const std::exception& e) {
    throw InputError(path, std::string("corrupted checkpoint: ") + e.what());
  }
}

// One line for each key the restart changes with care.
void add_care_warnings(const std::string& path, const std::vector<DeckChange>& changes,
                       CheckpointInfo& info) {
  for (const auto& c : changes)
    if (c.change == RestartChange::Warn)
      info.warnings.push_back(path + ": " + c.key + ": the checkpoint was written with " + c.was +
                              ", this run continues with " + c.now);
}

}  // namespace

CheckpointInfo inspect_checkpoint(const std::string& path, const CheckpointInfo& expect) {
  silence_hdf5();
  check_sealed_file(path);
  Handle file = open_checkpoint(path);
  CheckpointInfo info = read_info(path, file.get());
  const auto changes = checked_deck_changes(path, info, expect);
  if (expect.num_params > 0 && info.num_params != expect.num_params)
    refuse_header(path, "parameters", std::to_string(info.num_params),
                  std::to_string(expect.num_params), changes);
  const auto segments = state_rows(path, file.get(), info.ranks);
  for (const auto& segment : segments) info.state_values += static_cast<Index>(segment.second);
  if (expect.state_values > 0 && info.state_values != expect.state_values) {
    // The run names the segment only one side has; without the run's names, the deck key
    // that switches one on or off names it.
    if (const std::string s = switched_segment(changes); !s.empty()) {
      const bool in_file = std::any_of(segments.begin(), segments.end(),
                                       [&](const auto& segment) { return segment.first == s; });
      throw InputError(path, segment_mismatch(s, in_file, deck_lines(info.deck),
                                              deck_lines(expect.deck), changes));
    }
    throw InputError(path, "the checkpoint's state holds " + std::to_string(info.state_values) +
                               " values per rank, this run's " +
                               std::to_string(expect.state_values) + differing_keys(changes));
  }
  add_care_warnings(path, changes, info);
  return info;
}

template <class Scalar>
std::string write_checkpoint(const std::string& dir, Index keep_last, const CheckpointInfo& info,
                             const FlatState<Scalar>& state, const HostState& host,
                             const comm::Communicator& comm) {
  silence_hdf5();
  const int rank = comm.rank(), ranks = comm.size();
  const std::string name = "ckpt-" + std::to_string(info.step) + ".h5";
  const std::string final_path = (fs::path(dir) / name).string();
  const std::string tmp_path = final_path + ".tmp";
  std::string error;
  try {
    if (rank == 0) {
      fs::create_directories(dir);
      // Left-overs of writes that a crash interrupted.
      for (const auto& e : fs::directory_iterator(dir)) {
        const std::string f = e.path().filename().string();
        if (f.rfind("ckpt-", 0) == 0 && f.size() > 7 && f.substr(f.size() - 7) == ".h5.tmp")
          fs::remove(e.path());
      }
    }
  } catch (const std::exception& e) {
    error = "checkpoint.dir " + dir + ": " + e.what();
  }
  comm.agree_or_throw(error);

  // The run ends on a failed write, naming the checkpoint it can be resumed from (the
  // previous one is removed only after this one is complete).
  auto not_written = [&](const std::string& why) {
    if (rank == 0) {
      std::error_code ec;
      fs::remove(tmp_path, ec);
    }
    std::string previous;
    try {
      previous = latest_checkpoint(dir);
    } catch (const InputError&) {
      // (the folder went away under the run: the message names no earlier checkpoint)
    }
    throw RunError(final_path + ": " + "checkpoint not written: " + why + "; the run stops here" +
                   (previous.empty()
                        ? " (no earlier checkpoint)"
                        : ", and " + previous + " is still the latest complete checkpoint"));
  };

  // The file's size, HDF5's own records included, with room to spare: a write that cannot
  // fit is not started. (Rank 0 then reserves the file's exact size before writing a byte.)
  const double rows = static_cast<double>(kUserBlock) +
                      ranks * (static_cast<double>(state.bytes()) + 8.0 * (host.size() + 1)) +
                      static_cast<double>(info.deck.size() + info.build.size());
  const double need = rows + rows / 100 + (64 << 10);
  // Rank 0 writes the file: its file size limit and its disk are the ones that count.
  error = comm.agree(rank == 0 ? room_for(dir, need) : "");
  if (!error.empty()) not_written(error);

  // Host copies of this rank's rows, and its checksum.
  auto all = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), state.all());
  std::uint64_t sum = kFnvBasis;
  std::string order;
  for (const auto& seg : state.segments()) {
    sum = fnv1a(sum, all.data() + seg.offset, seg.size * sizeof(Scalar));
    order += (order.empty() ? "" : ",") + seg.name;
  }
  std::vector<double> host_values;
  for (const auto& [key, value] : host) {
    host_values.push_back(value);
    sum = fnv1a(sum, key.data(), key.size());
    sum = fnv1a(sum, &value, sizeof value);
  }
  sum = fnv1a(sum, info.deck.data(), info.deck.size());

  // Rank 0 writes the file; the others send it their rows. HDF5 never writes to the disk:
  // HDF5 1.10 cannot recover from a failed write (a failed flush leaves its cache unable to
  // flush again, and the file it then fails to close crashes MPI_Finalize), and parallel
  // HDF5 hangs in H5Fclose after one rank's write failed. So HDF5 lays out the file in memory
  // (/dev/shm), its datasets' rows allocated but left unwritten (a sparse file of a few KiB),
  // and olsgd copies that into the .tmp and writes the rows there itself: a full disk or an
  // I/O error is then one error of rank 0's own, after which it still takes every row, and the
  // ranks agree on it.
  auto step = [&](const std::function<void()>& f) {
    if (rank != 0 || !error.empty()) return;
    try {
      f();
    } catch (const std::exception& e) {
      error = e.what() + why_write_failed(dir, need);
    }
  };
  // Every rank's host values and checksum, for the [ranks] datasets.
  std::vector<std::vector<double>> host_columns(host_values.size(), std::vector<double>(ranks));
  std::vector<std::uint64_t> sums(ranks);
  {
    std::vector<unsigned char> mine(host_values.size() * 8 + 8);
    std::memcpy(mine.data(), host_values.data(), host_values.size() * 8);
    std::memcpy(mine.data() + host_values.size() * 8, &sum, 8);
    gather_rows(comm, mine.data(), mine.size(), [&](int r, const void* row) {
      const auto* p = static_cast<const unsigned char*>(row);
      for (std::size_t k = 0; k < host_columns.size(); ++k)
        std::memcpy(&host_columns[k][r], p + 8 * k, 8);
      std::memcpy(&sums[r], p + 8 * host_columns.size(), 8);
    });
  }
  const auto segments = state.segments();
  std::vector<haddr_t> offsets(segments.size(), HADDR_UNDEF);
  // (Where /dev/shm is missing, the layout goes beside the checkpoint, named so that the next
  // write sweeps it away with the other left-overs.)
  const bool shm = ::access("/dev/shm", W_OK | X_OK) == 0;
  const std::string layout_path =
      shm ? "/dev/shm/" + std::string(kLayoutPrefix) + std::to_string(::getpid()) + ".h5"
          : final_path + ".layout.h5.tmp";
  int layout = -1, fd = -1;
  step([&] {
    if (shm) remove_orphaned_layouts("/dev/shm");
    Handle fcpl(check_id(H5Pcreate(H5P_FILE_CREATE), "H5Pcreate"), H5Pclose);
    check(H5Pset_userblock(fcpl.get(), kUserBlock), "H5Pset_userblock");
    Handle file(H5Fcreate(layout_path.c_str(), H5F_ACC_TRUNC, fcpl.get(), H5P_DEFAULT), H5Fclose);
    if (!file.ok()) throw std::runtime_error("cannot lay out the file in " + layout_path);
    const int format = info.format;
    const long long num_params = info.num_params, steps_done = info.step;
    const unsigned long long seed = info.seed;
    write_attr(file.get(), "format_version", H5T_NATIVE_INT, &format);
    write_attr(file.get(), "olsgd_version", info.olsgd_version);
    write_attr(file.get(), "algorithm", info.algorithm);
    write_attr(file.get(), "ranks", H5T_NATIVE_INT, &ranks);
    write_attr(file.get(), "num_params", H5T_NATIVE_LLONG, &num_params);
    write_attr(file.get(), "precision", info.precision);
    write_attr(file.get(), "step", H5T_NATIVE_LLONG, &steps_done);
    write_attr(file.get(), "seed", H5T_NATIVE_ULLONG, &seed);
    write_string(file.get(), "deck", info.deck);
    write_string(file.get(), "build", info.build);
    Handle group(check_id(H5Gcreate2(file.get(), "state", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                          "creating /state"),
                 H5Gclose);
    write_attr(group.get(), "segments", order);
    for (std::size_t k = 0; k < segments.size(); ++k)
      offsets[k] =
          reserve_rows(group.get(), segments[k].name, h5_type<Scalar>(), ranks, segments[k].size);
    Handle hgroup(check_id(H5Gcreate2(file.get(), "host", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                           "creating /host"),
                  H5Gclose);
    std::size_t k = 0;
    for (const auto& kv : host)
      write_column(hgroup.get(), kv.first, H5T_NATIVE_DOUBLE, host_columns[k++]);
    write_column(file.get(), "checksum", H5T_NATIVE_UINT64, sums);
    hgroup.close();
    group.close();
    if (!file.close()) throw std::runtime_error("cannot lay out the file in " + layout_path);
    layout = ::open(layout_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (layout < 0)
      throw std::runtime_error("cannot read " + layout_path + ": " + std::strerror(errno));
    ::unlink(layout_path.c_str());  // (the descriptor keeps it until the copy is done)

    // The disk, from here on olsgd's own writes: the whole size reserved first.
    const off_t size = ::lseek(layout, 0, SEEK_END);
    fd = ::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw std::runtime_error("cannot create " + tmp_path + ": " + std::strerror(errno));
    reserve(fd, static_cast<double>(size));
    if (::ftruncate(fd, size) != 0)
      throw std::runtime_error("cannot size " + tmp_path + ": " + std::strerror(errno));
    copy_data(layout, fd, tmp_path);
  });
  for (std::size_t k = 0; k < segments.size(); ++k) {
    const std::size_t bytes = segments[k].size * sizeof(Scalar);
    if (bytes == 0) continue;
    gather_rows(comm, all.data() + segments[k].offset, bytes, [&](int r, const void* row) {
      step([&] {
        if (offsets[k] == HADDR_UNDEF) throw std::runtime_error("no room for " + segments[k].name);
        pwrite_all(fd, row, bytes, static_cast<off_t>(offsets[k] + r * bytes), tmp_path);
      });
    });
  }
  if (rank == 0) ::unlink(layout_path.c_str());
  if (layout >= 0) ::close(layout);
  if (fd >= 0 && ::close(fd) != 0) {
    const std::string why = std::strerror(errno);
    step([&] { throw std::runtime_error("closing " + tmp_path + " failed: " + why); });
  }
  // Durable, then visible under its final name.
  step([&] {
    write_seal(tmp_path);
    fsync_path(tmp_path, false);
    if (::rename(tmp_path.c_str(), final_path.c_str()) != 0)
      throw std::runtime_error("cannot rename " + tmp_path + " to " + name + ": " +
                               std::strerror(errno));
  });
  error = comm.agree(error);
  if (!error.empty()) not_written(error);

  // Then its folder entry durable, and only then do old ones go. A failed folder sync leaves a
  // complete file that a crash may yet take away: the run stops, and every older checkpoint
  // stays.
  step([&] { fsync_path(dir, true); });
  error = comm.agree(error);
  if (!error.empty()) {
    std::string kept = " (no earlier checkpoint)";
    for (const auto& [found_step, path] : list_checkpoints(dir))
      if (found_step < info.step) kept = ", and " + path.string() + " is kept";
    throw RunError(final_path + ": checkpoint written, but a crash may lose it: " + error +
                   "; the run stops here" + kept);
  }
  if (rank == 0) {
    try {
      // The newest keep_last up to this one stay; one past it (which the start-of-run check
      // keeps out of a periodic run, but a stop signal may meet) is never this run's to remove.
      auto found = list_checkpoints(dir);
      while (!found.empty() && found.back().first > info.step) found.pop_back();
      for (std::size_t j = 0;
           keep_last > 0 && j + static_cast<std::size_t>(keep_last) < found.size(); ++j)
        fs::remove(found[j].second);
    } catch (const std::exception& e) {
      error = std::string("checkpoint ") + final_path + ": " + e.what();
    }
  }
  comm.agree_or_throw(error);
  return final_path;
}

namespace {
template <class Mirror, class ReadRow>
void reshard(int ranks, const Mirror& all, HostState& host, const ReadRow& read_checked_row) {
  using Scalar = typename Mirror::value_type;
  // Every value is the mean over the written ranks, accumulated in double; a value all rows
  // hold with the same bits (the anchor, a minibatch SGD model) keeps them exactly. Host
  // values (counters, the agreed quantization levels) are the same on every rank: rank 0's.
  const std::size_t n = all.extent(0);
  std::vector<Scalar> row(n);
  std::vector<double> mean(n, 0.0);
  std::vector<char> same(n, 1);
  read_checked_row(0, all.data(), host);
  for (std::size_t i = 0; i < n; ++i) mean[i] = all(i);
  for (int r = 1; r < ranks; ++r) {
    HostState ignored = host;
    read_checked_row(r, row.data(), ignored);
    for (std::size_t i = 0; i < n; ++i) {
      mean[i] += row[i];
      same[i] &= std::memcmp(&row[i], &all(i), sizeof(Scalar)) == 0;
    }
  }
  for (std::size_t i = 0; i < n; ++i)
    if (!same[i]) all(i) = static_cast<Scalar>(mean[i] / ranks);
}

}  // namespace

template <class Scalar>
CheckpointInfo read_checkpoint(const std::string& path, const CheckpointInfo& expect,
                               const FlatState<Scalar>& state, HostState& host,
                               const comm::Communicator& comm) {
  silence_hdf5();
  CheckpointInfo info;
  std::string error;
  const int rank = comm.rank();
  // Rank 0 checks the seal for everyone before any rank lets HDF5 parse the file.
  if (rank == 0) {
    try {
      check_sealed_file(path);
    } catch (const InputError& e) {
      error = e.what();
    }
  }
  comm.agree_or_throw(error);
  try {
    Handle file = open_checkpoint(path);
    const hid_t f = file.get();
    info = read_info(path, f);
    // The deck keys a restart must not change, by name, before anything else is compared.
    const auto changes = checked_deck_changes(path, info, expect);
    auto refuse = [&](const std::string& what, const std::string& got, const std::string& want) {
      refuse_header(path, what, got, want, changes);
    };
    if (info.algorithm != expect.algorithm) refuse("algorithm", info.algorithm, expect.algorithm);
    if (info.num_params != expect.num_params)
      refuse("parameters", std::to_string(info.num_params), std::to_string(expect.num_params));
    if (info.precision != expect.precision) refuse("precision", info.precision, expect.precision);

    // The file's state segments and host values against this run's, before any row is read.
    const auto segments = state_rows(path, f, info.ranks);
    std::vector<std::pair<std::string, std::size_t>> hosts;
    std::vector<std::string> order;
    try {
      Handle group(check_id(H5Gopen2(f, "state", H5P_DEFAULT), "no /state"), H5Gclose);
      if (H5Aexists(group.get(), "segments") > 0)
        order = split_commas(read_string_attr(group.get(), "segments"));
      Handle hgroup(check_id(H5Gopen2(f, "host", H5P_DEFAULT), "no /host"), H5Gclose);
      hosts = list_rows(hgroup.get(), info.ranks);
    } catch (const std::exception& e) {
      throw InputError(path, std::string("corrupted checkpoint: ") + e.what());
    }
    const auto was = deck_lines(info.deck), now = deck_lines(expect.deck);
    std::map<std::string, std::size_t> in_file(segments.begin(), segments.end());
    for (const auto& seg : state.segments()) {
      auto it = in_file.find(seg.name);
      if (it == in_file.end())
        throw InputError(path, segment_mismatch(seg.name, false, was, now, changes));
      if (it->second != seg.size)
        throw InputError(path, "the checkpoint's state '" + seg.name + "' holds " +
                                   std::to_string(it->second) + " values per rank, this run's " +
                                   std::to_string(seg.size) + differing_keys(changes));
      in_file.erase(it);
    }
    if (!in_file.empty())
      throw InputError(path, segment_mismatch(in_file.begin()->first, true, was, now, changes));
    for (const auto& [name, n] : hosts)
      if (n != 0 || !host.count(name))
        throw InputError(path, "checkpoint has host value '" + name +
                                   "' that this run does not keep" + differing_keys(changes));
    if (hosts.size() != host.size())
      for (const auto& kv : host)
        if (std::none_of(hosts.begin(), hosts.end(),
                         [&](const auto& h) { return h.first == kv.first; }))
          throw InputError(path, "checkpoint has no host value '" + kv.first +
                                     "', which this run needs" + differing_keys(changes));
    // The checksum's order: the file's own, or (a file written before it was recorded) this
    // run's, which is the writer's for the same segments.
    if (order.empty())
      for (const auto& seg : state.segments()) order.push_back(seg.name);
    if (order.size() != segments.size() ||
        !std::all_of(order.begin(), order.end(),
                     [&](const std::string& n) { return state.has(n); }))
      throw InputError(path, "corrupted checkpoint: its list of state segments does not match");

    auto all = Kokkos::create_mirror_view(Kokkos::HostSpace(), state.all());
    std::map<std::string, std::size_t> offset;
    for (const auto& seg : state.segments()) offset[seg.name] = seg.offset;
    // Row r of every segment into `dst` (the state's layout) and of every host value into `h`,
    // checked against row r's checksum.
    auto read_checked_row = [&](int r, Scalar* dst, HostState& h) {
      std::uint64_t sum = kFnvBasis, stored = 0;
      try {
        Handle group(check_id(H5Gopen2(f, "state", H5P_DEFAULT), "no /state"), H5Gclose);
        for (const auto& seg : state.segments())
          read_row(group.get(), seg.name, h5_type<Scalar>(), info.ranks, r, seg.size,
                   dst + seg.offset);
        for (const std::string& name : order)
          sum = fnv1a(sum, dst + offset.at(name), in_file_size(segments, name) * sizeof(Scalar));
        Handle hgroup(check_id(H5Gopen2(f, "host", H5P_DEFAULT), "no /host"), H5Gclose);
        for (auto& [key, value] : h) {
          read_row(hgroup.get(), key, H5T_NATIVE_DOUBLE, info.ranks, r, 0, &value);
          sum = fnv1a(sum, key.data(), key.size());
          sum = fnv1a(sum, &value, sizeof value);
        }
        read_row(f, "checksum", H5T_NATIVE_UINT64, info.ranks, r, 0, &stored);
      } catch (const std::exception& e) {
        throw InputError(path, std::string("corrupted checkpoint: ") + e.what());
      }
      sum = fnv1a(sum, info.deck.data(), info.deck.size());
      if (sum != stored)
        throw InputError(path, "corrupted checkpoint: the checksum of rank " + std::to_string(r) +
                                   "'s data does not match");
    };
    if (info.ranks == expect.ranks) {
      read_checked_row(rank, all.data(), host);
    } else {
      reshard(info.ranks, all, host, read_checked_row);
      info.warnings.push_back(path + ": written on " + plural(info.ranks, "rank") +
                              ", continued on " + plural(expect.ranks, "rank") +
                              ": every rank starts from the ranks' mean state (model, anchor, "
                              "momentum, error feedback) and the data are split anew");
    }
    // The keys a restart may change with care: said once, by rank 0 of the caller.
    add_care_warnings(path, changes, info);
    Kokkos::deep_copy(state.all(), all);
  } catch (const InputError& e) {
    error = e.what();
  } catch (const std::exception& e) {
    error = path + ": " + e.what();
  }
  comm.agree_or_throw(error);
  return info;
}

void seal_checkpoint(const std::string& path) {
  write_seal(path);
}

bool checkpoints_available() {
  return true;
}

void refuse_checkpoints_if_unavailable(const Config&) {}

std::string latest_checkpoint(const std::string& dir) {
  std::error_code ec;
  const auto status = fs::status(dir, ec);
  if (status.type() == fs::file_type::not_found) return "";
  if (ec) throw InputError("checkpoint.dir " + dir, "cannot read it: " + ec.message());
  if (!fs::is_directory(status))
    throw InputError("checkpoint.dir " + dir, "not a folder (a file of that name is in the way)");
  fs::directory_iterator(dir, ec);
  if (ec) throw InputError("checkpoint.dir " + dir, "cannot read it: " + ec.message());
  const auto found = list_checkpoints(dir);
  return found.empty() ? std::string() : found.back().second.string();
}

template std::string write_checkpoint<float>(const std::string&, Index, const CheckpointInfo&,
                                             const FlatState<float>&, const HostState&,
                                             const comm::Communicator&);
template std::string write_checkpoint<double>(const std::string&, Index, const CheckpointInfo&,
                                              const FlatState<double>&, const HostState&,
                                              const comm::Communicator&);
template CheckpointInfo read_checkpoint<float>(const std::string&, const CheckpointInfo&,
                                               const FlatState<float>&, HostState&,
                                               const comm::Communicator&);
template CheckpointInfo read_checkpoint<double>(const std::string&, const CheckpointInfo&,
                                                const FlatState<double>&, HostState&,
                                                const comm::Communicator&);

}  // namespace olsgd::io
