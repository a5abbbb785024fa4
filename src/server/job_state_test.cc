#include "server/job_state.h"

#include <gtest/gtest.h>

namespace kumo::server {
namespace {

// The stored and API words are part of the contract (docs/api.md, the jobs and tasks tables).
TEST(JobStateTest, PhaseWordsAreTheApiWords) {
  EXPECT_EQ(ToString(JobPhase::kPending), "Pending");
  EXPECT_EQ(ToString(JobPhase::kRunning), "Running");
  EXPECT_EQ(ToString(JobPhase::kTerminating), "Terminating");
  EXPECT_EQ(ToString(JobPhase::kSucceeded), "Succeeded");
  EXPECT_EQ(ToString(JobPhase::kFailed), "Failed");
  EXPECT_EQ(ToString(JobPhase::kCancelled), "Cancelled");
}

TEST(JobStateTest, TaskStateWordsAreTheStoredWords) {
  EXPECT_EQ(ToString(TaskState::kRunning), "running");
  EXPECT_EQ(ToString(TaskState::kExited), "exited");
  EXPECT_EQ(ToString(TaskState::kLost), "lost");
}

// Stored as a Terminating job's reason and shown in events and Result records (docs/api.md).
TEST(JobStateTest, OutcomeWordsAreTheStoredWords) {
  EXPECT_EQ(ToString(AttemptOutcome::kSucceeded), "Succeeded");
  EXPECT_EQ(ToString(AttemptOutcome::kCancelled), "Cancelled");
  EXPECT_EQ(ToString(AttemptOutcome::kPreempted), "Preempted");
  EXPECT_EQ(ToString(AttemptOutcome::kNodeDrained), "NodeDrained");
  EXPECT_EQ(ToString(AttemptOutcome::kLost), "Lost");
  EXPECT_EQ(ToString(AttemptOutcome::kFailed), "Failed");
  EXPECT_EQ(ToString(AttemptOutcome::kDeadlineExceeded), "DeadlineExceeded");
  EXPECT_EQ(ToString(AttemptOutcome::kLaunchFailed), "LaunchFailed");
}

TEST(JobStateTest, ParseIsTheInverseOfToString) {
  for (JobPhase p : {JobPhase::kPending, JobPhase::kRunning, JobPhase::kTerminating,
                     JobPhase::kSucceeded, JobPhase::kFailed, JobPhase::kCancelled})
    EXPECT_EQ(ParseJobPhase(ToString(p)), p);
  for (TaskState s : {TaskState::kRunning, TaskState::kExited, TaskState::kLost})
    EXPECT_EQ(ParseTaskState(ToString(s)), s);
  for (AttemptOutcome o :
       {AttemptOutcome::kSucceeded, AttemptOutcome::kCancelled, AttemptOutcome::kPreempted,
        AttemptOutcome::kNodeDrained, AttemptOutcome::kLost, AttemptOutcome::kFailed,
        AttemptOutcome::kDeadlineExceeded, AttemptOutcome::kLaunchFailed})
    EXPECT_EQ(ParseAttemptOutcome(ToString(o)), o);
}

TEST(JobStateTest, ParseRejectsOtherText) {
  EXPECT_EQ(ParseJobPhase("pending"), std::nullopt);
  EXPECT_EQ(ParseJobPhase(""), std::nullopt);
  EXPECT_EQ(ParseTaskState("Running"), std::nullopt);
  EXPECT_EQ(ParseAttemptOutcome("preempted"), std::nullopt);
  EXPECT_EQ(ParseAttemptOutcome("BackoffRetry"), std::nullopt);  // a reason, not an outcome
  EXPECT_EQ(ParseAttemptOutcome(""), std::nullopt);
}

TEST(JobStateTest, TerminalAndAttemptPhases) {
  EXPECT_TRUE(IsTerminal(JobPhase::kSucceeded));
  EXPECT_TRUE(IsTerminal(JobPhase::kFailed));
  EXPECT_TRUE(IsTerminal(JobPhase::kCancelled));
  EXPECT_FALSE(IsTerminal(JobPhase::kPending));
  EXPECT_FALSE(IsTerminal(JobPhase::kTerminating));
  EXPECT_TRUE(HasAttempt(JobPhase::kRunning));
  EXPECT_TRUE(HasAttempt(JobPhase::kTerminating));
  EXPECT_FALSE(HasAttempt(JobPhase::kPending));
  EXPECT_FALSE(HasAttempt(JobPhase::kSucceeded));
}

}  // namespace
}  // namespace kumo::server
