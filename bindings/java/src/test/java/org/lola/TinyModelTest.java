package org.lola;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** A test class that loads the tiny test model once for its tests ({@link #model}) and closes
 *  it after them (JUnit runs the test classes one after another). */
abstract class TinyModelTest {
    static Model model;

    @BeforeAll
    static void loadTinyModel() {
        model = Model.load(TestModel.path());
    }

    @AfterAll
    static void closeTinyModel() {
        model.close();
    }
}
