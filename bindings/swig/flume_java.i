// flume_java.i: the SWIG interface for the Java binding. It wraps flume_facade.hpp (not flume.h
// directly) into package io.flume.internal; the public API in io.flume is plain Java over it.
%module(directors="1") FlumeNative
%{
#include "flume_facade.hpp"
%}

%include <stdint.i>
%include <std_string.i>

// Byte strings in: Java byte[] to (pointer, length). Subjects and patterns travel as UTF-8 bytes
// encoded by Java, not as JNI "modified UTF-8" strings, so every valid subject round-trips.
%apply (char *STRING, size_t LENGTH) { (const char *subject, size_t subject_length) };
%apply (char *STRING, size_t LENGTH) { (const char *pattern, size_t pattern_length) };
%apply (char *STRING, size_t LENGTH) { (const char *data, size_t length) };

// Byte strings out: flume_java::Bytes (borrowed from a live Message) copied into a new byte[].
%typemap(jni) flume_java::Bytes "jbyteArray"
%typemap(jtype) flume_java::Bytes "byte[]"
%typemap(jstype) flume_java::Bytes "byte[]"
%typemap(javaout) flume_java::Bytes { return $jnicall; }
%typemap(out) flume_java::Bytes {
  $result = jenv->NewByteArray(static_cast<jsize>($1.size));
  if ($result && $1.size) {
    jenv->SetByteArrayRegion($result, 0, static_cast<jsize>($1.size),
                             static_cast<const jbyte *>($1.data));
  }
}

// A packed batch (flume_java::Packed) copied into a new byte[] in one go.
%typemap(jni) flume_java::Packed "jbyteArray"
%typemap(jtype) flume_java::Packed "byte[]"
%typemap(jstype) flume_java::Packed "byte[]"
%typemap(javaout) flume_java::Packed { return $jnicall; }
%typemap(out) flume_java::Packed {
  $result = jenv->NewByteArray(static_cast<jsize>($1.data.size()));
  if ($result && !$1.data.empty()) {
    jenv->SetByteArrayRegion($result, 0, static_cast<jsize>($1.data.size()),
                             reinterpret_cast<const jbyte *>($1.data.data()));
  }
}

// A flume_java::Error becomes io.flume.FlumeException(code, message) on the calling thread. If
// that class cannot be made (it always can: it is in the same jar), a RuntimeException says why.
%exception {
  try {
    $action
  } catch (const flume_java::Error &e) {
    jclass cls = jenv->FindClass("io/flume/FlumeException");
    jmethodID init = cls ? jenv->GetMethodID(cls, "<init>", "(ILjava/lang/String;)V") : nullptr;
    jstring message = init ? jenv->NewStringUTF(e.what()) : nullptr;
    jobject error = message ? jenv->NewObject(cls, init, e.code(), message) : nullptr;
    if (error) {
      jenv->Throw(static_cast<jthrowable>(error));
    } else if (!jenv->ExceptionCheck()) {
      SWIG_JavaThrowException(jenv, SWIG_JavaRuntimeException, e.what());
    }
    return $null;
  } catch (const std::bad_alloc &) {
    SWIG_JavaThrowException(jenv, SWIG_JavaOutOfMemoryError, "out of memory in libflume");
    return $null;
  }
}

// The callback form: Java subclasses MessageHandler (io.flume.Client's HandlerBridge).
%feature("director") flume_java::MessageHandler;

// What subscribe() and recv() return is the caller's (Java's) to free.
%newobject flume_java::Client::subscribe;
%newobject flume_java::Subscription::recv;
%newobject flume_java::Client::subscribeWithHandler;

// Errors, Bytes and LiveCounts are internal to the facade; the accessors below expose the counts.
%ignore flume_java::Error;
%ignore flume_java::Bytes;
%ignore flume_java::Packed;
%ignore flume_java::LiveCounts;
%ignore flume_java::Message::Message;
%ignore flume_java::Subscription::Subscription;

// The public io.flume classes carry the plain names; these are their native halves.
%rename(NativeClient) flume_java::Client;
%rename(NativeSubscription) flume_java::Subscription;
%rename(NativeMessage) flume_java::Message;
%rename(NativeBroker) flume_java::Broker;
// The token is bytes: set through setTokenBytes(byte[]), not as a (modified UTF-8) String.
%ignore flume_java::ClientOptions::token;

%include "flume_facade.hpp"
