#include "vindex/mpi/communicator.h"

#include <algorithm>
#include <climits>
#include <utility>

#include "absl/strings/str_cat.h"

namespace vindex::mpi {
namespace {

// Pieces of a large broadcast; well inside MPI's int counts.
constexpr int64_t kPieceBytes = int64_t{1} << 30;

#define VINDEX_MPI_CALL(call)                           \
  do {                                                  \
    if (int mpi_rc_ = (call); mpi_rc_ != MPI_SUCCESS) { \
      return MpiStatus(mpi_rc_, #call);                 \
    }                                                   \
  } while (0)

// Byte counts and displacements as MPI ints, or an error when they do not
// fit (checked on values every rank knows, so every rank decides alike).
absl::Status FitsInt(int64_t total, const char* what) {
  if (total > INT_MAX) {
    return absl::ResourceExhaustedError(
        absl::StrCat(what, " of ", total,
                     " bytes exceeds one MPI call; use smaller batches"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status MpiStatus(int mpi_error, const char* call) {
  char text[MPI_MAX_ERROR_STRING] = {};
  int len = 0;
  if (MPI_Error_string(mpi_error, text, &len) != MPI_SUCCESS) len = 0;
  // Failures of a peer or of the transport: the operation may work again.
  return absl::UnavailableError(absl::StrCat(
      "MPI error ", mpi_error, " in ", call, ": ", std::string(text, len)));
}

absl::StatusOr<Communicator> Communicator::Create(MPI_Comm comm) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    return absl::FailedPreconditionError("MPI is not initialised");
  }
  MPI_Comm dup = MPI_COMM_NULL;
  VINDEX_MPI_CALL(MPI_Comm_dup(comm, &dup));
  Communicator c(dup, 0, 1);
  VINDEX_MPI_CALL(MPI_Comm_set_errhandler(dup, MPI_ERRORS_RETURN));
  VINDEX_MPI_CALL(MPI_Comm_rank(dup, &c.rank_));
  VINDEX_MPI_CALL(MPI_Comm_size(dup, &c.size_));
  return c;
}

Communicator::Communicator(Communicator&& other) noexcept
    : comm_(std::exchange(other.comm_, MPI_COMM_NULL)),
      rank_(other.rank_),
      size_(other.size_) {}

Communicator& Communicator::operator=(Communicator&& other) noexcept {
  if (this != &other) {
    if (comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
    comm_ = std::exchange(other.comm_, MPI_COMM_NULL);
    rank_ = other.rank_;
    size_ = other.size_;
  }
  return *this;
}

Communicator::~Communicator() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (comm_ != MPI_COMM_NULL && !finalized) MPI_Comm_free(&comm_);
}

absl::Status Communicator::AgreeOnStatus(const absl::Status& local) {
  int first_bad = local.ok() ? size_ : rank_;
  VINDEX_MPI_CALL(
      MPI_Allreduce(MPI_IN_PLACE, &first_bad, 1, MPI_INT, MPI_MIN, comm_));
  if (first_bad == size_) return absl::OkStatus();
  std::string message;
  int64_t code = 0;
  if (rank_ == first_bad) {
    message = absl::StrCat("rank ", rank_, ": ", local.message());
    code = static_cast<int64_t>(local.code());
  }
  VINDEX_MPI_CALL(MPI_Bcast(&code, 1, MPI_INT64_T, first_bad, comm_));
  if (absl::Status s = BroadcastString(&message, first_bad); !s.ok()) return s;
  return absl::Status(static_cast<absl::StatusCode>(code), message);
}

absl::Status Communicator::Barrier() {
  VINDEX_MPI_CALL(MPI_Barrier(comm_));
  return absl::OkStatus();
}

absl::Status Communicator::Broadcast(void* data, int64_t bytes, int root) {
  char* p = static_cast<char*>(data);
  for (int64_t done = 0; done < bytes; done += kPieceBytes) {
    const int n = static_cast<int>(std::min(kPieceBytes, bytes - done));
    VINDEX_MPI_CALL(MPI_Bcast(p + done, n, MPI_BYTE, root, comm_));
  }
  return absl::OkStatus();
}

absl::Status Communicator::BroadcastString(std::string* value, int root) {
  int64_t n = static_cast<int64_t>(value->size());
  VINDEX_MPI_CALL(MPI_Bcast(&n, 1, MPI_INT64_T, root, comm_));
  if (rank_ != root) value->resize(static_cast<size_t>(n));
  return Broadcast(value->data(), n, root);
}

absl::Status Communicator::SumInt64(absl::Span<int64_t> values) {
  VINDEX_MPI_CALL(MPI_Allreduce(MPI_IN_PLACE, values.data(),
                                static_cast<int>(values.size()), MPI_INT64_T,
                                MPI_SUM, comm_));
  return absl::OkStatus();
}

absl::Status Communicator::SumDouble(absl::Span<double> values) {
  VINDEX_MPI_CALL(MPI_Allreduce(MPI_IN_PLACE, values.data(),
                                static_cast<int>(values.size()), MPI_DOUBLE,
                                MPI_SUM, comm_));
  return absl::OkStatus();
}

absl::Status Communicator::MaxFloat(absl::Span<float> values) {
  VINDEX_MPI_CALL(MPI_Allreduce(MPI_IN_PLACE, values.data(),
                                static_cast<int>(values.size()), MPI_FLOAT,
                                MPI_MAX, comm_));
  return absl::OkStatus();
}

absl::Status Communicator::MaxInt64(absl::Span<int64_t> values) {
  VINDEX_MPI_CALL(MPI_Allreduce(MPI_IN_PLACE, values.data(),
                                static_cast<int>(values.size()), MPI_INT64_T,
                                MPI_MAX, comm_));
  return absl::OkStatus();
}

absl::Status Communicator::AllGatherBytes(std::string_view mine,
                                          std::string* all,
                                          std::vector<int64_t>* counts) {
  std::vector<int64_t> n(size_);
  n[rank_] = static_cast<int64_t>(mine.size());
  VINDEX_MPI_CALL(MPI_Allgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, n.data(), 1,
                                MPI_INT64_T, comm_));
  int64_t total = 0;
  for (int64_t v : n) total += v;
  if (absl::Status s = FitsInt(total, "an all-gather"); !s.ok()) return s;
  std::vector<int> cnt(size_), disp(size_);
  for (int r = 0, off = 0; r < size_; off += cnt[r], ++r) {
    cnt[r] = static_cast<int>(n[r]);
    disp[r] = off;
  }
  all->assign(static_cast<size_t>(total), '\0');
  VINDEX_MPI_CALL(MPI_Allgatherv(mine.data(), cnt[rank_], MPI_BYTE, all->data(),
                                 cnt.data(), disp.data(), MPI_BYTE, comm_));
  if (counts != nullptr) *counts = std::move(n);
  return absl::OkStatus();
}

absl::Status Communicator::GatherBytes(std::string_view mine, int root,
                                       std::string* all,
                                       std::vector<int64_t>* counts) {
  std::vector<int64_t> n(size_);
  int64_t my = static_cast<int64_t>(mine.size());
  VINDEX_MPI_CALL(
      MPI_Allgather(&my, 1, MPI_INT64_T, n.data(), 1, MPI_INT64_T, comm_));
  int64_t total = 0;
  for (int64_t v : n) total += v;
  if (absl::Status s = FitsInt(total, "a gather"); !s.ok()) return s;
  std::vector<int> cnt(size_), disp(size_);
  for (int r = 0, off = 0; r < size_; off += cnt[r], ++r) {
    cnt[r] = static_cast<int>(n[r]);
    disp[r] = off;
  }
  if (rank_ == root) all->assign(static_cast<size_t>(total), '\0');
  VINDEX_MPI_CALL(MPI_Gatherv(mine.data(), static_cast<int>(my), MPI_BYTE,
                              rank_ == root ? all->data() : nullptr, cnt.data(),
                              disp.data(), MPI_BYTE, root, comm_));
  if (counts != nullptr) *counts = std::move(n);
  return absl::OkStatus();
}

absl::Status Communicator::AllToAllBytes(const std::vector<std::string>& send,
                                         std::vector<std::string>* recv) {
  if (static_cast<int>(send.size()) != size_) {
    return absl::InvalidArgumentError("all-to-all needs one buffer per rank");
  }
  std::vector<int64_t> out(size_), in(size_);
  for (int r = 0; r < size_; ++r) out[r] = static_cast<int64_t>(send[r].size());
  VINDEX_MPI_CALL(MPI_Alltoall(out.data(), 1, MPI_INT64_T, in.data(), 1,
                               MPI_INT64_T, comm_));
  int64_t totals[2] = {0, 0};
  for (int r = 0; r < size_; ++r) {
    totals[0] += out[r];
    totals[1] += in[r];
  }
  int64_t largest = std::max(totals[0], totals[1]);
  if (absl::Status s = MaxInt64(absl::MakeSpan(&largest, 1)); !s.ok()) {
    return s;
  }
  if (absl::Status s = FitsInt(largest, "an all-to-all"); !s.ok()) return s;
  std::string send_buf;
  send_buf.reserve(static_cast<size_t>(totals[0]));
  std::vector<int> scnt(size_), sdisp(size_), rcnt(size_), rdisp(size_);
  for (int r = 0, so = 0, ro = 0; r < size_; ++r) {
    scnt[r] = static_cast<int>(out[r]);
    sdisp[r] = so;
    so += scnt[r];
    rcnt[r] = static_cast<int>(in[r]);
    rdisp[r] = ro;
    ro += rcnt[r];
    send_buf += send[r];
  }
  std::string recv_buf(static_cast<size_t>(totals[1]), '\0');
  VINDEX_MPI_CALL(MPI_Alltoallv(send_buf.data(), scnt.data(), sdisp.data(),
                                MPI_BYTE, recv_buf.data(), rcnt.data(),
                                rdisp.data(), MPI_BYTE, comm_));
  recv->assign(size_, std::string());
  for (int r = 0; r < size_; ++r) {
    (*recv)[r] = recv_buf.substr(rdisp[r], rcnt[r]);
  }
  return absl::OkStatus();
}

}  // namespace vindex::mpi
