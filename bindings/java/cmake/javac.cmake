# javac.cmake: compiles every .java file under some folders (SWIG decides the generated file
# names, so they are globbed when the build runs, not at configure time).
#   cmake -DJAVAC=... -DOUT=dir -DSOURCE_DIRS="a|b" [-DCLASSPATH=...] -DSTAMP=file -P javac.cmake
string(REPLACE "|" ";" _dirs "${SOURCE_DIRS}")
set(_sources)
foreach(_d IN LISTS _dirs)
  file(GLOB_RECURSE _found "${_d}/*.java")
  list(APPEND _sources ${_found})
endforeach()
if(NOT _sources)
  message(FATAL_ERROR "javac.cmake: no .java files under ${SOURCE_DIRS}")
endif()
file(REMOVE_RECURSE "${OUT}")
file(MAKE_DIRECTORY "${OUT}")
set(_cp)
if(CLASSPATH)
  set(_cp -classpath "${CLASSPATH}")
endif()
execute_process(COMMAND "${JAVAC}" -encoding UTF-8 -Xlint:all,-serial -d "${OUT}" ${_cp} ${_sources}
                RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "javac failed (${_rc})")
endif()
file(TOUCH "${STAMP}")
