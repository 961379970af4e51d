# onestop-spoke: the spoke daemon (start-up and loop, uplink to the hub,
# outbox, inbox, dataset replica, local API socket).
# The in-process read path of the dataset replica (replica_dbis,
# replica_read), free of the daemon: the benchmark links it too.
add_library(onestop_spoke_replica_read STATIC ${CMAKE_CURRENT_LIST_DIR}/replica_read.c)
target_include_directories(onestop_spoke_replica_read PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(onestop_spoke_replica_read PUBLIC onestop_common onestop_proto)
# The replica (apply, LRU, fetches) and the read server, constructible
# without the daemon (tests/unit/test_replica.c); they use the shared
# state's primitives (state.c), which the daemon or the test links.
add_library(onestop_spoke_replica STATIC
  ${CMAKE_CURRENT_LIST_DIR}/replica.c
  ${CMAKE_CURRENT_LIST_DIR}/replica_lru.c
  ${CMAKE_CURRENT_LIST_DIR}/replica_fetch.c
  ${CMAKE_CURRENT_LIST_DIR}/reads.c)
target_link_libraries(onestop_spoke_replica PUBLIC onestop_spoke_replica_read onestop_common
                      onestop_proto)

# Every daemon module but main.c, so that tests and fuzz targets construct
# and drive them in process (tests/fuzz/fuzz_spoke_api.c); main.c only adds
# the options, start-up, the hooks' registration and signals.
add_library(onestop_spoke_core STATIC
  ${CMAKE_CURRENT_LIST_DIR}/state.c
  ${CMAKE_CURRENT_LIST_DIR}/trust.c
  ${CMAKE_CURRENT_LIST_DIR}/hublink.c
  ${CMAKE_CURRENT_LIST_DIR}/outbox.c
  ${CMAKE_CURRENT_LIST_DIR}/inbox.c
  ${CMAKE_CURRENT_LIST_DIR}/cases.c
  ${CMAKE_CURRENT_LIST_DIR}/casework.c
  ${CMAKE_CURRENT_LIST_DIR}/supervise.c
  ${CMAKE_CURRENT_LIST_DIR}/complaints.c
  ${CMAKE_CURRENT_LIST_DIR}/evaluate.c
  ${CMAKE_CURRENT_LIST_DIR}/api.c)
target_include_directories(onestop_spoke_core PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(onestop_spoke_core PUBLIC onestop_spoke_replica onestop_common onestop_proto
                      PkgConfig::ZMQ)

add_executable(onestop-spoke ${CMAKE_CURRENT_LIST_DIR}/main.c)
target_link_libraries(onestop-spoke PRIVATE onestop_spoke_core)
install(TARGETS onestop-spoke RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
