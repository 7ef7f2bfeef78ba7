package dev.loupe.elasticsearch.testing;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.Comparator;
import org.junit.jupiter.api.ClassOrderer;
import org.junit.jupiter.api.ClassDescriptor;
import org.junit.jupiter.api.ClassOrdererContext;

/**
 * Runs test classes that share a cluster ({@link EsClusterExtension#shared} with equal specs)
 * one after another, so each shared cluster starts once per test run; then every other class,
 * all by name within their group. Enabled for the module in
 * {@code src/test/resources/junit-platform.properties}.
 */
public final class SharedClusterOrder implements ClassOrderer {
  @Override
  public void orderClasses(ClassOrdererContext context) {
    context.getClassDescriptors().sort(Comparator.comparing(SharedClusterOrder::groupKey));
  }

  private static String groupKey(ClassDescriptor descriptor) {
    Class<?> testClass = descriptor.getTestClass();
    ClusterSpec shared = sharedSpec(testClass);
    return shared == null ? "2 " + testClass.getName() : "1 " + shared + " " + testClass.getName();
  }

  /** The spec of the class's shared-cluster extension, or null when it has none. */
  private static ClusterSpec sharedSpec(Class<?> testClass) {
    for (Field field : testClass.getDeclaredFields()) {
      if (Modifier.isStatic(field.getModifiers()) && EsClusterExtension.class.isAssignableFrom(field.getType())) {
        try {
          field.setAccessible(true);
          EsClusterExtension extension = (EsClusterExtension) field.get(null);
          return extension != null && extension.isShared() ? extension.spec() : null;
        } catch (ReflectiveOperationException | RuntimeException e) {
          return null;  // ordering is an optimisation: never fail discovery over it
        }
      }
    }
    return null;
  }
}
