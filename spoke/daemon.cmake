# onestop-spoke: the spoke daemon (start-up and loop, registry, link to the hub,
# outbox, inbox, dataset cache, local API socket).
# The local reads of the dataset copies (cache_dbis, cache_read), free of
# the daemon: the benchmark links them too.
add_library(onestop_spoke_cache STATIC ${CMAKE_CURRENT_LIST_DIR}/cache_read.c)
target_include_directories(onestop_spoke_cache PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(onestop_spoke_cache PUBLIC onestop_common onestop_proto)

add_executable(onestop-spoke
  ${CMAKE_CURRENT_LIST_DIR}/main.c
  ${CMAKE_CURRENT_LIST_DIR}/state.c
  ${CMAKE_CURRENT_LIST_DIR}/trust.c
  ${CMAKE_CURRENT_LIST_DIR}/hublink.c
  ${CMAKE_CURRENT_LIST_DIR}/outbox.c
  ${CMAKE_CURRENT_LIST_DIR}/inbox.c
  ${CMAKE_CURRENT_LIST_DIR}/api.c
  ${CMAKE_CURRENT_LIST_DIR}/cache.c)
target_include_directories(onestop-spoke PRIVATE ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(onestop-spoke PRIVATE onestop_spoke_cache onestop_common onestop_proto
                      PkgConfig::ZMQ)
install(TARGETS onestop-spoke RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
