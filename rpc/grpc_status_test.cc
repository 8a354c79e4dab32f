#include "rpc/grpc_status.h"

#include <string>

#include "gtest/gtest.h"

namespace rpc {
namespace {

TEST(GrpcStatus, KeepsCodeAndMessage) {
  const absl::Status kStatuses[] = {
      absl::OkStatus(),
      absl::InvalidArgumentError("lines[0].quantity: must be > 0"),
      absl::NotFoundError("unknown item SKU-1"),
      absl::AlreadyExistsError("exists"),
      absl::FailedPreconditionError("insufficient stock"),
      absl::ResourceExhaustedError("the command queue is full"),
      absl::OutOfRangeError("too big"),
      absl::UnavailableError("log down"),
      absl::DeadlineExceededError("late"),
      absl::DataLossError("corrupt"),
  };
  for (const absl::Status& s : kStatuses) {
    grpc::Status g = ToGrpc(s);
    EXPECT_EQ(static_cast<int>(g.error_code()), static_cast<int>(s.code())) << s;
    EXPECT_EQ(g.error_message(), std::string(s.message())) << s;
    EXPECT_EQ(g.ok(), s.ok());
  }
}

TEST(GrpcStatus, EveryCanonicalCodeMapsToTheSameNumber) {
  for (int code = 1; code <= 16; ++code) {
    const absl::Status s(static_cast<absl::StatusCode>(code), "m");
    EXPECT_EQ(static_cast<int>(ToGrpc(s).error_code()), code) << s;
  }
  EXPECT_EQ(ToGrpc(absl::Status(absl::StatusCode::kUnauthenticated, "who")).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST(GrpcStatus, NonCanonicalCodeBecomesUnknownWithItsMessage) {
  grpc::Status g = ToGrpc(absl::Status(static_cast<absl::StatusCode>(42), "odd code"));
  EXPECT_EQ(g.error_code(), grpc::StatusCode::UNKNOWN);
  EXPECT_EQ(g.error_message(), "odd code");
}

}  // namespace
}  // namespace rpc
