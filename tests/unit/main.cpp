// CppUnit runner: runs every registered suite; exits non-zero when any test fails.
// Prints a closing line "N passed, N failed" for CI.
#include <cppunit/BriefTestProgressListener.h>
#include <cppunit/CompilerOutputter.h>
#include <cppunit/TestResult.h>
#include <cppunit/TestResultCollector.h>
#include <cppunit/TestRunner.h>
#include <cppunit/extensions/TestFactoryRegistry.h>

#include <iostream>

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
    std::cout << "unit: " << (run - failed) << " passed, " << failed << " failed" << std::endl;
    return collected.wasSuccessful() && run > 0 ? 0 : 1;
}
