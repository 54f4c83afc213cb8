// CppUnit runner: runs every registered suite; exits non-zero when any test fails.
// Prints a closing line "N passed, N failed[, N skipped]" for CI; a test that called
// ecomm::test::skip() counts as skipped, not passed.
#include <cppunit/BriefTestProgressListener.h>
#include <cppunit/CompilerOutputter.h>
#include <cppunit/TestResult.h>
#include <cppunit/TestResultCollector.h>
#include <cppunit/TestRunner.h>
#include <cppunit/extensions/TestFactoryRegistry.h>

#include <iostream>

#include "skip.h"

int main()
{
    CppUnit::TestResult controller;
    CppUnit::TestResultCollector collected;
    controller.addListener(&collected);
    CppUnit::BriefTestProgressListener progress;
    controller.addListener(&progress);

    CppUnit::TestRunner runner;
    runner.addTest(CppUnit::TestFactoryRegistry::getRegistry().makeTest());
    runner.run(controller);

    CppUnit::CompilerOutputter outputter(&collected, std::cerr);
    outputter.write();
    const int failed = collected.testFailuresTotal();
    const int run = collected.runTests();
    const int skipped = ecomm::test::skipped_count();
    std::cout << "unit: " << (run - failed - skipped) << " passed, " << failed << " failed";
    if (skipped > 0) std::cout << ", " << skipped << " skipped";
    std::cout << std::endl;
    return collected.wasSuccessful() && run > 0 ? 0 : 1;
}
