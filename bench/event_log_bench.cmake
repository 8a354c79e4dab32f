# Event log benchmarks; included from bench/CMakeLists.txt.
add_executable(event_log_bench ${CMAKE_CURRENT_LIST_DIR}/event_log_bench.cc)
inventory_target_defaults(event_log_bench)
target_link_libraries(event_log_bench PRIVATE event_log benchmark::benchmark)
