#ifndef VINDEX_MPI_COMMUNICATOR_H_
#define VINDEX_MPI_COMMUNICATOR_H_

// A communicator whose every call returns absl::Status: MPI errors come back
// as Status (MPI_ERRORS_RETURN is set on it), and AgreeOnStatus makes every
// rank return the same error before a collective, so that a rank that fails
// never leaves the others waiting in a collective it will not join.
//
// Thread safety: one thread of each rank uses a Communicator at a time (MPI
// initialised with at least MPI_THREAD_FUNNELED).

#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace vindex::mpi {

// The Status for an MPI error code, naming the call that returned it.
absl::Status MpiStatus(int mpi_error, const char* call);

class Communicator {
 public:
  // Duplicates `comm` (collective over it) and sets MPI_ERRORS_RETURN on the
  // duplicate. MPI must be initialised.
  static absl::StatusOr<Communicator> Create(MPI_Comm comm = MPI_COMM_WORLD);
  Communicator(Communicator&& other) noexcept;
  Communicator& operator=(Communicator&& other) noexcept;
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;
  ~Communicator();  // Frees the duplicate (before MPI_Finalize).

  int rank() const { return rank_; }
  int size() const { return size_; }
  MPI_Comm comm() const { return comm_; }

  // Collective: returns OK on every rank when `local` is OK on every rank;
  // otherwise the error of the lowest failing rank, its code and its message
  // prefixed with "rank R: ", on every rank. If MPI itself fails here, the
  // MPI error is returned instead.
  absl::Status AgreeOnStatus(const absl::Status& local);

  // The collectives below assume every rank calls them with matching
  // arguments (call AgreeOnStatus first when a rank may have failed). Byte
  // counts may exceed INT_MAX; they are sent in pieces.
  absl::Status Barrier();
  absl::Status Broadcast(void* data, int64_t bytes, int root);
  // `value` on `root` reaches every rank (sizes need not match beforehand).
  absl::Status BroadcastString(std::string* value, int root);
  absl::Status SumInt64(absl::Span<int64_t> values);
  absl::Status SumDouble(absl::Span<double> values);
  absl::Status MaxFloat(absl::Span<float> values);
  absl::Status MaxInt64(absl::Span<int64_t> values);
  // Every rank's bytes, concatenated in rank order, on every rank; counts[r]
  // (if non-null) receives rank r's byte count.
  absl::Status AllGatherBytes(std::string_view mine, std::string* all,
                              std::vector<int64_t>* counts = nullptr);
  // Every rank's bytes concatenated in rank order on `root` (others get
  // nothing).
  absl::Status GatherBytes(std::string_view mine, int root, std::string* all,
                           std::vector<int64_t>* counts = nullptr);
  // All-to-all: send[r] goes to rank r; recv[r] receives what rank r sent
  // here.
  absl::Status AllToAllBytes(const std::vector<std::string>& send,
                             std::vector<std::string>* recv);

 private:
  explicit Communicator(MPI_Comm comm, int rank, int size)
      : comm_(comm), rank_(rank), size_(size) {}
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace vindex::mpi

#endif  // VINDEX_MPI_COMMUNICATOR_H_
