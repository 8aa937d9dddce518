# daicho_protobuf_library(TARGET PROTO): a private static library of the code
# protoc generates for PROTO (a path relative to the source root). Generated
# files live only in the build tree, are included as "<dir>/<name>.pb.h", and
# are compiled without daicho's -Werror. Each target generates into its own
# directory, so linking one exposes no other target's headers.
function(daicho_protobuf_library target proto)
  set(out_dir ${PROJECT_BINARY_DIR}/generated/${target})
  get_filename_component(proto_dir ${proto} DIRECTORY)
  get_filename_component(proto_name ${proto} NAME_WE)
  set(pb_cc ${out_dir}/${proto_dir}/${proto_name}.pb.cc)
  set(pb_h ${out_dir}/${proto_dir}/${proto_name}.pb.h)
  add_custom_command(
    OUTPUT ${pb_cc} ${pb_h}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${out_dir}
    COMMAND protobuf::protoc --cpp_out=${out_dir} -I ${PROJECT_SOURCE_DIR} ${PROJECT_SOURCE_DIR}/${proto}
    DEPENDS ${PROJECT_SOURCE_DIR}/${proto} protobuf::protoc
    COMMENT "protoc ${proto}")
  add_library(${target} STATIC ${pb_cc})
  target_include_directories(${target} PUBLIC $<BUILD_INTERFACE:${out_dir}>)
  target_link_libraries(${target} PUBLIC protobuf::libprotobuf)
  set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON)
endfunction()
