# Compiles SOURCE (-fsyntax-only) and expects it to fail with the message on its
# "// EXPECT: ..." line, and with no cereal-internal static assertion before ours.
file(STRINGS ${SOURCE} expect_line REGEX "^// EXPECT: ")
string(REGEX REPLACE "^// EXPECT: " "" expected "${expect_line}")
execute_process(
  COMMAND ${CXX} -std=c++20 -fsyntax-only -I${INCLUDE} ${SOURCE}
  RESULT_VARIABLE status ERROR_VARIABLE errors OUTPUT_VARIABLE output)
if(status EQUAL 0)
  message(FATAL_ERROR "${SOURCE} compiled, but it must not")
endif()
string(FIND "${errors}" "${expected}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "${SOURCE}: the compiler's errors do not say \"${expected}\":\n${errors}")
endif()
string(FIND "${errors}" "cereal could not find" cereal_at)
if(NOT cereal_at EQUAL -1 AND cereal_at LESS at)
  message(FATAL_ERROR "${SOURCE}: cereal's own error comes before ours:\n${errors}")
endif()
