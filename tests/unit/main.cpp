// CppUnit runner: runs every registered suite; exits non-zero when any test fails.
// Prints a closing line "N passed, N failed[, N skipped]" for CI; a test that called
// ecomm::test::skip() counts as skipped, not passed. An argument runs only the tests whose full
// name contains it ("CounterTableTest", "CounterTableTest::someTest"), for working on one concern.
#include <cppunit/BriefTestProgressListener.h>
#include <cppunit/CompilerOutputter.h>
#include <cppunit/TestResult.h>
#include <cppunit/TestResultCollector.h>
#include <cppunit/TestRunner.h>
#include <cppunit/extensions/TestFactoryRegistry.h>

#include <iostream>
#include <string>

#include "skip.h"

namespace {

// Runs the leaf tests under test whose names contain filter.
void run_matching(CppUnit::Test* test, const std::string& filter, CppUnit::TestResult& controller)
{
    if (test->getChildTestCount() == 0) {
        if (test->getName().find(filter) != std::string::npos) test->run(&controller);
        return;
    }
    for (int i = 0; i < test->getChildTestCount(); ++i) run_matching(test->getChildTestAt(i), filter, controller);
}

}  // namespace

int main(int argc, char** argv)
{
    CppUnit::TestResult controller;
    CppUnit::TestResultCollector collected;
    controller.addListener(&collected);
    CppUnit::BriefTestProgressListener progress;
    controller.addListener(&progress);

    CppUnit::Test* all = CppUnit::TestFactoryRegistry::getRegistry().makeTest();
    CppUnit::TestRunner runner;
    runner.addTest(all);  // the runner owns it
    if (argc > 1)
        run_matching(all, argv[1], controller);
    else
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
