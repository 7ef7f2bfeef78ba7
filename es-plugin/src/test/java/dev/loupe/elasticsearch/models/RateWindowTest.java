package dev.loupe.elasticsearch.models;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class RateWindowTest {
  @Test
  void ratePerSecondOverTheLastMinute() {
    RateWindow window = new RateWindow();
    assertEquals(0, window.perSecond(1_000_000));
    long start = 1_000_000;
    for (int second = 0; second < 10; second++) window.record(start + second * 1000L, 4);
    assertEquals(4.0, window.perSecond(start + 10_000), 1e-9, "40 events over the 10 s since the first");
    assertEquals(36.0 / 60, window.perSecond(start + 60_000), 1e-9, "a full window: the current second and the 59 before it");
    assertEquals(16.0 / 60, window.perSecond(start + 65_000), 1e-9, "events older than a minute drop out");
    assertEquals(0, window.perSecond(start + 200_000));
    window.record(start + 200_000, 6);
    assertEquals(6.0 / 60, window.perSecond(start + 200_500), 1e-9);
  }
}
