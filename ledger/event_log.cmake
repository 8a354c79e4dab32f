# The event log: interface, in-memory / RocksDB / Kafka backends, and the
# conformance suite that runs every backend against the same contract.
# Included from ledger/CMakeLists.txt.
add_library(event_log STATIC
  ${CMAKE_CURRENT_LIST_DIR}/event_log.cc
  ${CMAKE_CURRENT_LIST_DIR}/group_commit.cc
  ${CMAKE_CURRENT_LIST_DIR}/kafka_log.cc
  ${CMAKE_CURRENT_LIST_DIR}/log_tail.cc
  ${CMAKE_CURRENT_LIST_DIR}/memory_log.cc
  ${CMAKE_CURRENT_LIST_DIR}/rocksdb_log.cc)
inventory_target_defaults(event_log)
target_link_libraries(event_log PUBLIC base absl::status absl::statusor absl::strings
  RocksDB::rocksdb PkgConfig::RDKAFKA Threads::Threads)

inventory_test(event_log_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/event_log_conformance_test.cc ${CMAKE_CURRENT_LIST_DIR}/group_commit_test.cc
  LIBS event_log)
