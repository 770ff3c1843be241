// Checkpoints in a build without HDF5 (-DOLSGD_ENABLE_HDF5=OFF, Spack olsgd~hdf5): the driver
// and the trainer refuse checkpoint keys with a deck error first, so the write and read below
// are reached only by a caller that did not.
#include <olsgd/core/error.hpp>
#include <olsgd/io/checkpoint.hpp>

namespace olsgd::io {
namespace {
[[noreturn]] void unavailable(const std::string& where) {
  throw InputError(where,
                   "this olsgd was built without HDF5 (OLSGD_ENABLE_HDF5=OFF): no checkpoints");
}
}  // namespace

template <class Scalar>
std::string write_checkpoint(const std::string& dir, Index, const CheckpointInfo&,
                             const FlatState<Scalar>&, const HostState&,
                             const comm::Communicator&) {
  unavailable(dir);
}

template <class Scalar>
CheckpointInfo read_checkpoint(const std::string& path, const CheckpointInfo&,
                               const FlatState<Scalar>&, HostState&, const comm::Communicator&) {
  unavailable(path);
}

CheckpointInfo inspect_checkpoint(const std::string& path, const CheckpointInfo&) {
  unavailable(path);
}

void seal_checkpoint(const std::string& path) {
  unavailable(path);
}

bool checkpoints_available() {
  return false;
}

void refuse_checkpoints_if_unavailable(const Config& config) {
  const std::string why =
      ": this olsgd was built without HDF5 (OLSGD_ENABLE_HDF5=OFF): no checkpoints";
  if (config.checkpoint.every > 0) throw InputError(config.source, "checkpoint.every" + why);
  if (config.checkpoint.every_epochs > 0)
    throw InputError(config.source, "checkpoint.every_epochs" + why);
  if (!config.checkpoint.restart.empty() && config.checkpoint.restart != "latest")
    throw InputError(config.source, "checkpoint.restart" + why);
}

std::string latest_checkpoint(const std::string&) {
  return "";
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
