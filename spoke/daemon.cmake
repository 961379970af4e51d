# onestop-spoke: the spoke daemon (start-up and loop, uplink to the hub,
# outbox, inbox, local API socket).
add_executable(onestop-spoke
  ${CMAKE_CURRENT_LIST_DIR}/main.c
  ${CMAKE_CURRENT_LIST_DIR}/uplink.c
  ${CMAKE_CURRENT_LIST_DIR}/outbox.c
  ${CMAKE_CURRENT_LIST_DIR}/inbox.c
  ${CMAKE_CURRENT_LIST_DIR}/api.c)
target_include_directories(onestop-spoke PRIVATE ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(onestop-spoke PRIVATE onestop_common onestop_proto PkgConfig::ZMQ)
install(TARGETS onestop-spoke RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
