# -*- coding: utf-8 -*-
# frozen_string_literal: true

# squall's multilang adapter for Ruby.
#
# A spout or bolt written in Ruby runs as a child process of a squall (or
# Apache Storm) worker and talks to it over stdin/stdout with Storm's
# multilang protocol. This file is API-compatible with Apache Storm's
# storm.rb: scripts written for it run unchanged. A bolt looks like this:
#
#   require 'storm'
#
#   class SplitSentence < Storm::BasicBolt
#     def process(tup)
#       tup.values[0].split(' ').each { |word| emit([word]) }
#     end
#   end
#
#   SplitSentence.new.run
#
# Differences from Storm's adapter (all compatible with Storm's hosts):
#
# * emit does not ask the host for the ids of the tasks that receive the
#   tuple unless called with need_task_ids: true (then it returns the list of
#   task ids; otherwise nil). This saves a round trip per emit. Old code that
#   uses the return value of emit works again after
#   Storm::Protocol.need_task_ids = true, or with the environment variable
#   SQUALL_NEED_TASK_IDS=1 set for the component.
# * Output is buffered and written with one system call when the adapter is
#   about to wait for input (and at the latest every FLUSH_INTERVAL seconds
#   or FLUSH_BYTES bytes while it works through input that already arrived).
# * puts, print, p and anything else written to $stdout becomes a log
#   command at info level, one per line. The protocol uses a private copy of
#   the original stdout descriptor; descriptor 1 itself is pointed at stderr,
#   so that output of subprocesses cannot corrupt the protocol stream.
# * When stdin reaches end of file (the host closed it) or the host stops
#   reading, the process exits with status 0 and no backtrace.
# * Heartbeat tuples are answered with sync by the adapter; they never reach
#   process.
# * Storm::BasicBolt anchors every emit to the input tuple, acks it after
#   process returns, or fails it and reports the error (with its backtrace)
#   if process raises, and goes on with the next tuple. A plain Storm::Bolt
#   or a Storm::Spout that raises reports the error, writes it to stderr and
#   exits with status 1, so that the host restarts it.
# * Anchors (:anchor or :anchors) may be Storm::Tuple objects or tuple ids.
# * Spouts get activate and deactivate (no-ops unless overridden).
# * Under squall run (or squall local --attach) the process has a terminal of
#   its own (descriptor SQUALL_TTY_FD): binding.irb opens there, and so does
#   the debug gem's console (require 'debug'; debugger), and the user debugs
#   the component while the protocol waits.
#
# Wire formats: JSON (each message one JSON value followed by a line "end")
# and MessagePack (topology.multilang.serializer: msgpack; pystorm's
# framing, one MessagePack value per message), chosen by looking at the
# first byte the host sends. MessagePack is implemented here, in plain Ruby.
# With it, binary (ASCII-8BIT) strings travel as bin and come back as binary
# strings; other strings as str (UTF-8).
#
# The adapter keeps global state (one component per process) and is not
# thread-safe: use it from the thread that runs the component.

require 'json'
require 'stringio'

module Storm
  # Log levels of the protocol.
  TRACE = 0
  DEBUG = 1
  INFO = 2
  WARN = 3
  ERROR = 4

  # While input that already arrived is worked through, buffered output is
  # written at the latest after this many seconds or bytes.
  FLUSH_INTERVAL = 0.005
  FLUSH_BYTES = 64 * 1024

  # Size of one read from stdin.
  READ_SIZE = 64 * 1024

  # Raised when the host closed stdin or stopped reading our output. It is a
  # SystemExit with status 0, so that the component exits cleanly, and
  # "rescue StandardError" in user code lets it pass.
  class HostClosed < SystemExit
    def initialize
      super(0, 'the host closed the connection')
    end
  end

  # Reads host messages in the JSON framing: JSON text, then a line "end".
  # read_more returns the next bytes (nil at end of file) and is called only
  # when no whole message is buffered; before_block runs before it.
  class JsonReader
    def initialize(read_more, before_block, data = nil)
      @read_more = read_more
      @before_block = before_block
      @buf = String.new(data || '', encoding: Encoding::BINARY)
      @pos = 0
    end

    # Returns the next message; raises HostClosed at end of file.
    def read
      search = @pos
      while true # not loop: a return from its block is slow
        i = @buf.index("\nend", search)
        if i
          j = i + 4
          n = @buf.bytesize
          if j < n && @buf.getbyte(j) == 10 # "end\n"
            return take(i, j + 1)
          elsif j + 1 < n && @buf.getbyte(j) == 13 && @buf.getbyte(j + 1) == 10 # "end\r\n"
            return take(i, j + 2)
          elsif j < n && (@buf.getbyte(j) != 13 || j + 1 < n)
            search = i + 1 # a line that only starts with "end"
            next
          end
          search = i # cannot tell yet
        else
          search = [@pos, @buf.bytesize - 3].max
        end
        search -= @pos
        more
      end
    end

    private

    def take(text_end, next_pos)
      text = @buf.byteslice(@pos, text_end - @pos)
      @pos = next_pos
      text.force_encoding(Encoding::UTF_8)
      text.scrub! unless text.valid_encoding?
      JSON.parse(text)
    end

    def more
      @before_block.call
      chunk = @read_more.call
      raise HostClosed if chunk.nil? || chunk.empty?

      @buf = @pos.zero? ? @buf << chunk : @buf.byteslice(@pos, @buf.bytesize - @pos) << chunk
      @pos = 0
    end
  end

  # Buffers messages to the host and writes them out on flush, or once
  # FLUSH_BYTES are waiting. write must write all of the bytes it is given.
  # A subclass encodes: encode(msg) appends one message to @buf, or raises
  # and leaves @buf as it was.
  class Writer
    attr_reader :since # Storm.now when the oldest unwritten message was added

    def initialize(write)
      @write = write
      @buf = new_buffer
      @since = 0.0
      @head = nil # the messages ahead of the reserved place, if any
      @fill = nil
      @held = 0
    end

    def add(msg)
      @since = Storm.now unless pending?
      encode(msg)
      flush if size >= FLUSH_BYTES
    end

    # Holds the place of messages made later than this call but written
    # ahead of what follows it: the flush writes fill.call there (their
    # encoding, '' for none). held is what they hold so far (grow counts
    # more). One place at a time; JsonWriter only (see State).
    def reserve(fill, held)
      flush if @fill
      @since = Storm.now unless pending?
      @head = @buf
      @buf = new_buffer
      @fill = fill
      grow(held)
    end

    # Counts bytes more waiting in the reserved place.
    def grow(bytes)
      @held += bytes
      flush if size >= FLUSH_BYTES
    end

    def pending?
      !@buf.empty? || !@fill.nil?
    end

    # Writes every buffered message.
    def flush
      return unless pending?

      data = @buf
      @buf = new_buffer
      if @fill
        data = @head << @fill.call << data
        @head = @fill = nil
        @held = 0
      end
      @write.call(data) unless data.empty?
    end

    private

    def size
      @fill ? @head.bytesize + @held + @buf.bytesize : @buf.bytesize
    end

    def new_buffer
      String.new(capacity: FLUSH_BYTES, encoding: self.class::ENCODING)
    end
  end

  # Writes the JSON framing.
  class JsonWriter < Writer
    ENCODING = Encoding::UTF_8

    private

    def encode(msg)
      text = JSON.generate(msg)
      @buf << text << "\nend\n"
    end
  end

  # MessagePack, as much of it as the protocol needs, in plain Ruby.
  module Msgpack
    # Raised inside unpack when the data ends within a value.
    class Incomplete < StandardError; end

    # Raised for data that is not MessagePack.
    class FormatError < StandardError; end

    BIN = Encoding::BINARY
    UTF8 = Encoding::UTF_8

    module_function

    # Packed map keys, by key, for the few keys messages use over and over;
    # bounded, so that maps with ever new keys do not grow it.
    KEYS = {}
    KEYS_MAX = 1024

    # Appends obj to buf (a binary string: single bytes are appended as
    # integers) and returns buf. Hash keys and Symbols become strings;
    # binary strings with bytes above 0x7f bin; other strings str (as
    # UTF-8); objects of other classes their to_s.
    def pack(obj, buf, depth = 0)
      case obj
      when String
        if obj.ascii_only?
          n = obj.bytesize
          if n < 32
            buf << (0xa0 | n) << obj
          else
            pack_str(obj, buf)
          end
        elsif obj.encoding == BIN
          pack_bin(obj, buf)
        else
          pack_str(obj, buf)
        end
      when Integer
        if obj >= 0 && obj < 0x80
          buf << obj
        else
          pack_int(obj, buf)
        end
      when Hash
        raise ArgumentError, 'MessagePack value nested too deep' if depth > 512

        n = obj.size
        if n < 16
          buf << (0x80 | n)
        elsif n < 0x10000
          buf << [0xde, n].pack('Cn')
        else
          buf << [0xdf, n].pack('CN')
        end
        obj.each_pair do |k, v|
          packed = KEYS[k]
          if packed
            buf << packed
          else
            pack_key(k, buf)
          end
          pack(v, buf, depth + 1)
        end
        buf
      when Array
        raise ArgumentError, 'MessagePack value nested too deep' if depth > 512

        n = obj.size
        if n < 16
          buf << (0x90 | n)
        elsif n < 0x10000
          buf << [0xdc, n].pack('Cn')
        else
          buf << [0xdd, n].pack('CN')
        end
        obj.each { |e| pack(e, buf, depth + 1) }
        buf
      when nil
        buf << 0xc0
      when true
        buf << 0xc3
      when false
        buf << 0xc2
      when Float
        buf << [0xcb, obj].pack('CG')
      when Symbol
        pack_str(obj.to_s, buf)
      else
        obj.respond_to?(:to_msgpack_value) ? pack(obj.to_msgpack_value, buf, depth + 1) : pack_str(obj.to_s, buf)
      end
    end

    # Appends a map key, remembering how it packs if it is a short string.
    def pack_key(key, buf)
      str = key.is_a?(String) ? key : key.to_s
      start = buf.bytesize
      pack_str(str, buf)
      if key.is_a?(String) && str.bytesize < 32 && KEYS.size < KEYS_MAX
        KEYS[key.frozen? ? key : key.dup.freeze] = buf.byteslice(start, buf.bytesize - start).freeze
      end
      buf
    end

    def pack_str(str, buf)
      str = str.encode(UTF8) unless str.encoding == UTF8 || str.ascii_only?
      n = str.bytesize
      if n < 32
        buf << (0xa0 | n)
      elsif n < 0x100
        buf << [0xd9, n].pack('CC')
      elsif n < 0x10000
        buf << [0xda, n].pack('Cn')
      else
        buf << [0xdb, n].pack('CN')
      end
      str.ascii_only? ? buf << str : buf << str.b
    end

    def pack_bin(str, buf)
      n = str.bytesize
      if n < 0x100
        buf << [0xc4, n].pack('CC')
      elsif n < 0x10000
        buf << [0xc5, n].pack('Cn')
      else
        buf << [0xc6, n].pack('CN')
      end
      buf << str
    end

    def pack_int(i, buf)
      if i >= 0
        if i < 0x80
          buf << i
        elsif i < 0x100
          buf << [0xcc, i].pack('CC')
        elsif i < 0x10000
          buf << [0xcd, i].pack('Cn')
        elsif i < 0x100000000
          buf << [0xce, i].pack('CN')
        elsif i < 0x10000000000000000
          buf << [0xcf, i].pack('CQ>')
        else
          raise RangeError, "integer #{i} is too large for MessagePack"
        end
      elsif i >= -32
        buf << (i & 0xff)
      elsif i >= -0x80
        buf << [0xd0, i].pack('Cc')
      elsif i >= -0x8000
        buf << [0xd1, i].pack('Cs>')
      elsif i >= -0x80000000
        buf << [0xd2, i].pack('Cl>')
      elsif i >= -0x8000000000000000
        buf << [0xd3, i].pack('Cq>')
      else
        raise RangeError, "integer #{i} is too small for MessagePack"
      end
    end

    # Decodes the value starting at pos in buf (a binary string). Returns
    # [value, position after it]; raises Incomplete if buf ends first.
    def unpack(buf, pos = 0)
      u = Unpacker.new(buf, pos)
      [u.value(0), u.pos]
    end

    # Sizes of headers by first byte: 0 for the byte never used.
    HEADER_SIZE = Array.new(256) do |c|
      if c <= 0xbf || c >= 0xe0 || [0xc0, 0xc2, 0xc3].include?(c) then 1
      elsif c == 0xc1 then 0
      elsif [0xc4, 0xcc, 0xd0, 0xd9].include?(c) then 2
      elsif [0xc5, 0xcd, 0xd1, 0xda, 0xdc, 0xde, 0xc7].include?(c) then 3
      elsif c == 0xc8 then 4
      elsif [0xc6, 0xca, 0xce, 0xd2, 0xdb, 0xdd, 0xdf].include?(c) then 5
      elsif c == 0xc9 then 6
      elsif [0xcb, 0xcf, 0xd3].include?(c) then 9
      else 2 # fixext: format and type
      end
    end.freeze

    # Finds where a value ends in a buffer that grows, without decoding it:
    # each scan goes on from where the last one stopped, so that a message
    # arriving in many pieces costs linear time.
    class Scanner
      def initialize(pos)
        @pos = pos
        @open = [1] # elements still to come in each open container
      end

      # The buffer lost its first n bytes.
      def shift(n)
        @pos -= n
      end

      # Returns the end of the value in buf, or nil if it is not all there.
      def scan(buf)
        open = @open
        p = @pos
        n = buf.bytesize
        while p < n
          c = buf.getbyte(p)
          size = HEADER_SIZE[c]
          raise FormatError, format('byte 0x%02x is not MessagePack', c) if size.zero?
          break if p + size > n

          elements = 0
          payload = 0
          if c >= 0x80 && c <= 0x8f then elements = 2 * (c & 0x0f)
          elsif c >= 0x90 && c <= 0x9f then elements = c & 0x0f
          elsif c >= 0xa0 && c <= 0xbf then payload = c & 0x1f
          elsif c >= 0xd4 && c <= 0xd8 then payload = 1 << (c - 0xd4)
          else
            case c
            when 0xc4, 0xd9, 0xc7 then payload = buf.getbyte(p + 1)
            when 0xc5, 0xda, 0xc8 then payload = buf.byteslice(p + 1, 2).unpack1('n')
            when 0xc6, 0xdb, 0xc9 then payload = buf.byteslice(p + 1, 4).unpack1('N')
            when 0xdc then elements = buf.byteslice(p + 1, 2).unpack1('n')
            when 0xdd then elements = buf.byteslice(p + 1, 4).unpack1('N')
            when 0xde then elements = 2 * buf.byteslice(p + 1, 2).unpack1('n')
            when 0xdf then elements = 2 * buf.byteslice(p + 1, 4).unpack1('N')
            end
          end
          break if p + size + payload > n

          p += size + payload
          if elements.positive?
            if open.size > 600
              open[-1] += elements - 1
            else
              open.push(elements)
            end
            next
          end
          open.pop while !open.empty? && (open[-1] -= 1).zero?
          next unless open.empty?

          @pos = p
          return p
        end
        @pos = p
        nil
      end
    end

    # Reads values from a binary string, from pos on.
    class Unpacker
      attr_accessor :pos

      # Whether String#unpack1 takes offset: (Ruby 3.1).
      OFFSET = begin
        "\x00".unpack1('C', offset: 0)
        true
      rescue ArgumentError
        false
      end

      def initialize(buf, pos = 0)
        @buf = buf
        @pos = pos
      end

      # Starts over on buf, from pos.
      def reset(buf, pos)
        @buf = buf
        @pos = pos
        self
      end

      # Returns the next value; raises Incomplete if the data ends first.
      def value(depth)
        buf = @buf
        pos = @pos
        c = buf.getbyte(pos) or raise Incomplete
        pos += 1
        if c < 0x80
          @pos = pos
          c
        elsif c >= 0xa0 && c < 0xc0 # fixstr, the most common
          e = pos + (c & 0x1f)
          raise Incomplete if e > buf.bytesize

          @pos = e
          s = buf.byteslice(pos, c & 0x1f).force_encoding(UTF8)
          s.valid_encoding? ? s : s.scrub
        elsif c >= 0xe0
          @pos = pos
          c - 0x100
        elsif c < 0x90
          @pos = pos
          map(c & 0x0f, depth)
        elsif c < 0xa0
          @pos = pos
          array(c & 0x0f, depth)
        else
          @pos = pos
          case c
          when 0xc0 then nil
          when 0xc2 then false
          when 0xc3 then true
          when 0xc4 then bin(fixed('C', 1))
          when 0xc5 then bin(fixed('n', 2))
          when 0xc6 then bin(fixed('N', 4))
          when 0xca then fixed('g', 4)
          when 0xcb then fixed('G', 8)
          when 0xcc then fixed('C', 1)
          when 0xcd then fixed('n', 2)
          when 0xce then fixed('N', 4)
          when 0xcf then fixed('Q>', 8)
          when 0xd0 then fixed('c', 1)
          when 0xd1 then fixed('s>', 2)
          when 0xd2 then fixed('l>', 4)
          when 0xd3 then fixed('q>', 8)
          when 0xd9 then str(fixed('C', 1))
          when 0xda then str(fixed('n', 2))
          when 0xdb then str(fixed('N', 4))
          when 0xdc then array(fixed('n', 2), depth)
          when 0xdd then array(fixed('N', 4), depth)
          when 0xde then map(fixed('n', 2), depth)
          when 0xdf then map(fixed('N', 4), depth)
          when 0xd4, 0xd5, 0xd6, 0xd7, 0xd8 then ext(1 << (c - 0xd4))
          when 0xc7 then ext(fixed('C', 1))
          when 0xc8 then ext(fixed('n', 2))
          when 0xc9 then ext(fixed('N', 4))
          else raise FormatError, format('byte 0x%02x is not MessagePack', c)
          end
        end
      end

      private

      # Reads a fixed-size number in the pack format fmt.
      def fixed(fmt, size)
        pos = @pos
        raise Incomplete if pos + size > @buf.bytesize

        @pos = pos + size
        OFFSET ? @buf.unpack1(fmt, offset: pos) : @buf.byteslice(pos, size).unpack1(fmt)
      end

      def str(n)
        pos = @pos
        raise Incomplete if pos + n > @buf.bytesize

        @pos = pos + n
        s = @buf.byteslice(pos, n).force_encoding(UTF8)
        s.valid_encoding? ? s : s.scrub
      end

      def bin(n)
        pos = @pos
        raise Incomplete if pos + n > @buf.bytesize

        @pos = pos + n
        @buf.byteslice(pos, n)
      end

      def ext(n)
        type = fixed('c', 1)
        { 'ext' => type, 'data' => bin(n) }
      end

      def array(n, depth)
        raise FormatError, 'MessagePack value nested too deep' if depth > 512
        raise Incomplete if @pos + n > @buf.bytesize # every element takes a byte

        a = Array.new(n)
        i = 0
        while i < n
          a[i] = value(depth + 1)
          i += 1
        end
        a
      end

      def map(n, depth)
        raise FormatError, 'MessagePack value nested too deep' if depth > 512
        raise Incomplete if @pos + 2 * n > @buf.bytesize

        h = {}
        buf = @buf
        i = 0
        while i < n
          c = buf.getbyte(@pos)
          if c && c >= 0xa0 && c < 0xc0 # a fixstr key, the usual
            start = @pos + 1
            len = c & 0x1f
            raise Incomplete if start + len > buf.bytesize

            @pos = start + len
            k = buf.byteslice(start, len).force_encoding(UTF8)
            k = k.scrub unless k.valid_encoding?
          else
            k = value(depth + 1)
            k = k.to_s unless k.is_a?(String)
          end
          # A deduplicated frozen key: the hash need not copy it.
          h[-k] = value(depth + 1)
          i += 1
        end
        h
      end
    end
  end

  # Reads host messages in MessagePack framing; same interface as JsonReader.
  class MsgpackReader
    def initialize(read_more, before_block, data = nil)
      @read_more = read_more
      @before_block = before_block
      @buf = String.new(data || '', encoding: Encoding::BINARY)
      @pos = 0
      @scanner = nil # finds the end of a message that arrives in pieces
    end

    def read
      while true # not loop: a return from its block is slow
        if @buf.bytesize > @pos
          if @scanner.nil?
            begin
              return unpack
            rescue Msgpack::Incomplete
              @scanner = Msgpack::Scanner.new(@pos)
            end
          end
          if @scanner.scan(@buf)
            @scanner = nil
            return unpack
          end
        end
        more
      end
    end

    private

    def unpack
      u = (@unpacker ||= Msgpack::Unpacker.new(@buf, @pos)).reset(@buf, @pos)
      msg = u.value(0)
      @pos = u.pos
      msg
    end

    def more
      @before_block.call
      chunk = @read_more.call
      raise HostClosed if chunk.nil? || chunk.empty?

      unless @pos.zero?
        @scanner&.shift(@pos)
        @buf = @buf.byteslice(@pos, @buf.bytesize - @pos)
        @pos = 0
      end
      @buf << chunk
    end
  end

  # Writes MessagePack.
  class MsgpackWriter < Writer
    ENCODING = Encoding::BINARY

    private

    def encode(msg)
      start = @buf.bytesize
      Msgpack.pack(msg, @buf)
    rescue StandardError
      @buf = @buf.byteslice(0, start) if @buf.bytesize > start
      raise
    end
  end

  # The wire formats by name: [reader class, writer class].
  SERIALIZERS = {
    'json' => [JsonReader, JsonWriter],
    'msgpack' => [MsgpackReader, MsgpackWriter]
  }.freeze

  # Names the serializer of a handshake that starts with data.
  def self.sniff(data)
    c = data.to_s.b.lstrip.getbyte(0)
    return 'msgpack' if c && ((0x80..0x8f).cover?(c) || c == 0xde || c == 0xdf)

    'json'
  end

  def self.now
    Process.clock_gettime(Process::CLOCK_MONOTONIC)
  end

  # Replaces $stdout: every line written becomes a log command at info
  # level. A partial line is logged when the adapter is about to wait for
  # input.
  class StdoutToLog < StringIO
    def initialize
      super(+'')
      @partial = +''
    end

    def write(*args)
      n = 0
      args.each do |a|
        s = a.to_s
        n += s.bytesize
        @partial << s
      end
      while (i = @partial.index("\n"))
        Storm::Protocol.log(@partial[0, i], INFO)
        @partial = @partial[(i + 1)..]
      end
      n
    end

    def flush
      unless @partial.empty?
        line = @partial
        @partial = +''
        Storm::Protocol.log(line, INFO)
      end
      self
    end

    def fileno
      1 # descriptor 1, which now goes to stderr
    end

    def isatty
      false
    end
    alias tty? isatty

    def sync
      true
    end

    def sync=(_value); end
  end

  # The protocol. Its methods are mixed into Bolt and Spout, and can also be
  # called on the module itself (Storm::Protocol.emit(...)).
  module Protocol
    class << self
      attr_accessor :mode, :pending_taskids, :pending_commands, :need_task_ids,
                    :reader, :writer, :stdout_log, :anchor_tuple
    end

    self.pending_taskids = []
    self.pending_commands = []
    self.need_task_ids = %w[1 true yes].include?(ENV.fetch('SQUALL_NEED_TASK_IDS', '').downcase)

    # Uses reader and writer to talk to the host; run and handshake connect
    # to stdin/stdout themselves, this is for tests and embedding.
    def self.connect(reader, writer, stdout_log = nil)
      self.reader = reader
      self.writer = writer
      self.stdout_log = stdout_log
      pending_taskids.clear
      pending_commands.clear
    end

    # Connects to the host over stdin and a private copy of stdout; fd 1 is
    # pointed at stderr and $stdout turned into a log stream.
    def self.connect_stdio
      out = STDOUT.dup
      out.binmode
      out.sync = true
      begin
        STDOUT.reopen(STDERR)
      rescue StandardError
        STDOUT.reopen(File.open(File::NULL, 'w'))
      end
      STDIN.binmode
      read_more = lambda do
        STDIN.readpartial(READ_SIZE)
      rescue EOFError, IOError, Errno::EBADF
        nil
      end
      data = read_more.call
      reader_class, writer_class = SERIALIZERS.fetch(Storm.sniff(data))
      write = lambda do |bytes|
        out.write(bytes)
      rescue Errno::EPIPE, IOError, Errno::EBADF
        raise HostClosed
      end
      log_stream = StdoutToLog.new
      connect(reader_class.new(read_more, method(:before_block), data), writer_class.new(write), log_stream)
      $stdout = log_stream
      raise HostClosed if data.nil? || data.empty?
    end

    def self.before_block
      stdout_log&.flush
      writer.flush
    end

    def self.ensure_connected
      connect_stdio if writer.nil?
    end

    # Flushes when output waited too long while input kept arriving.
    def self.maybe_flush
      w = writer
      before_block if w.pending? && Storm.now - w.since >= FLUSH_INTERVAL
    end

    at_exit do
      Storm::Protocol.stdout_log&.flush
      Storm::Protocol.writer&.flush
    rescue HostClosed, StandardError
      nil
    end

    # Every protocol method, as a module function and as an instance method.
    module Methods
      # Reads the next message from the host, whatever it is.
      def read_message
        Storm::Protocol.reader.read
      end

      # Returns the next task-id list, keeping messages read before it.
      def read_task_ids
        p = Storm::Protocol
        return p.pending_taskids.shift unless p.pending_taskids.empty?

        msg = read_message
        until msg.is_a?(Array)
          if !p.state_requests.empty? && STATE_REPLIES.include?(msg['command'])
            p.route_state_reply(msg) # emitted while iterating the state
          else
            p.pending_commands.push(msg)
          end
          msg = read_message
        end
        msg
      end

      # Returns the next message that is not a task-id list.
      def read_command
        p = Storm::Protocol
        return p.pending_commands.shift unless p.pending_commands.empty?

        msg = read_message
        while msg.is_a?(Array)
          p.pending_taskids.push(msg)
          msg = read_message
        end
        msg
      end

      def get_pending_queue_size # rubocop:disable Naming/AccessorMethodName
        Storm::Protocol.pending_commands.length
      end

      # Queues msg for the host; it is written before the adapter next waits.
      def send_msg_to_parent(msg)
        Storm::Protocol.writer.add(msg)
      end

      def sync
        send_msg_to_parent(SYNC)
      end

      # Storm's obsolete delay command; hosts ignore it.
      def delay(sec)
        send_msg_to_parent('command' => 'delay', 'msg' => sec.to_s)
      end

      # Creates the pid file in heartbeat_dir and answers the handshake.
      def send_pid(heartbeat_dir)
        pid = Process.pid
        problem = nil
        begin
          File.open(File.join(heartbeat_dir.to_s, pid.to_s), 'w').close
        rescue SystemCallError, IOError => e
          problem = "cannot create pid file in #{heartbeat_dir.inspect}: #{e.message}"
        end
        send_msg_to_parent('pid' => pid)
        log(problem, WARN) if problem
      end

      # Emits the values tup.
      #
      # In a bolt: emit(tup, stream: nil, anchor: / anchors: tuples or ids,
      # direct_task: nil); a BasicBolt anchors to its input itself. In a
      # spout: emit(tup, stream: nil, id: nil, direct_task: nil); an id
      # makes the emit reliable. With need_task_ids: true (or
      # Storm::Protocol.need_task_ids) the host is asked for the ids of the
      # receiving tasks and the list is returned; otherwise nil.
      def emit(tup, args = {})
        if Storm::Protocol.mode == 'spout'
          emit_spout(tup, args)
        else
          emit_bolt(tup, args)
        end
      end

      def emit_bolt(tup, args = {})
        anchor = Storm::Protocol.anchor_tuple
        anchors = if anchor
                    [anchor.id]
                  else
                    Storm::Protocol.anchor_ids(args[:anchors] || args[:anchor] || args['anchors'] || args['anchor'])
                  end
        m = { 'command' => 'emit', 'anchors' => anchors, 'tuple' => tup }
        send_emit(m, args)
      end

      def emit_spout(tup, args = {})
        m = { 'command' => 'emit', 'tuple' => tup }
        id = args.fetch(:id, args['id'])
        m['id'] = id unless id.nil?
        send_emit(m, args)
      end

      # Emits tup to the task task.
      def emit_direct(task, tup, args = {})
        emit(tup, args.merge(direct_task: task))
      end
      alias emitDirect emit_direct

      def ack(tup)
        send_msg_to_parent('command' => 'ack', 'id' => Storm::Protocol.tuple_id(tup))
      end

      def fail(tup)
        send_msg_to_parent('command' => 'fail', 'id' => Storm::Protocol.tuple_id(tup))
      end

      # Reports an error for the component; it does not stop it.
      def reportError(msg) # rubocop:disable Naming/MethodName
        send_msg_to_parent('command' => 'error', 'msg' => msg.to_s)
      end
      alias report_error reportError

      # Writes msg to the worker's log at level (0 trace ... 4 error).
      def log(msg, level = INFO)
        send_msg_to_parent('command' => 'log', 'msg' => msg.to_s, 'level' => level)
      end

      def logTrace(msg) # rubocop:disable Naming/MethodName
        log(msg, TRACE)
      end

      def logDebug(msg) # rubocop:disable Naming/MethodName
        log(msg, DEBUG)
      end

      def logInfo(msg) # rubocop:disable Naming/MethodName
        log(msg, INFO)
      end

      def logWarn(msg) # rubocop:disable Naming/MethodName
        log(msg, WARN)
      end

      def logError(msg) # rubocop:disable Naming/MethodName
        log(msg, ERROR)
      end

      # Sets the task's metric name to params.
      def rpcMetrics(name, params) # rubocop:disable Naming/MethodName
        send_msg_to_parent('command' => 'metrics', 'name' => name, 'params' => params)
      end
      alias rpc_metrics rpcMetrics

      # Connects to the host, reads the handshake, answers it and returns
      # [conf, context].
      def handshake
        Storm::Protocol.ensure_connected
        setup = read_message
        send_pid(setup['pidDir'])
        [setup['conf'], setup['context']]
      end

      private

      def send_emit(msg, args)
        stream = args.fetch(:stream, args['stream'])
        msg['stream'] = stream unless stream.nil?
        direct = args.fetch(:direct_task, args['direct_task'])
        unless direct.nil?
          msg['task'] = direct
          send_msg_to_parent(msg)
          return nil
        end
        need = args.fetch(:need_task_ids, Storm::Protocol.need_task_ids)
        msg['need_task_ids'] = false unless need
        send_msg_to_parent(msg)
        need ? read_task_ids : nil
      end
    end

    SYNC = { 'command' => 'sync' }.freeze

    include Methods
    extend Methods

    def self.anchor_ids(anchors)
      return [] if anchors.nil?
      return [anchors.id] if anchors.is_a?(Tuple)

      anchors = [anchors] unless anchors.is_a?(Array)
      anchors.map { |a| tuple_id(a) }
    end

    def self.tuple_id(tup)
      return tup.id if tup.is_a?(Tuple)

      tup.respond_to?(:id) && !tup.is_a?(String) && !tup.is_a?(Integer) ? tup.id : tup
    end

    # Reports the exception e and exits with status 1.
    def self.die(e, what)
      text = "#{what}: #{e.class}: #{e.message}\n#{Array(e.backtrace).join("\n")}"
      begin
        Storm::Protocol.reportError(text)
        before_block
      rescue HostClosed, StandardError
        nil
      end
      $stderr.puts(text)
      exit(1)
    end
  end

  # An input tuple of a bolt.
  class Tuple
    attr_accessor :id, :component, :stream, :task, :values

    def initialize(id, component, stream, task, values)
      @id = id
      @component = component
      @stream = stream
      @task = task
      @values = values
    end

    def self.from_hash(hash)
      Tuple.new(*hash.values_at('id', 'comp', 'stream', 'task', 'tuple'))
    end

    def tick?
      task == -1 && stream == '__tick'
    end
    alias is_tick_tuple tick?

    def heartbeat?
      task == -1 && stream == '__heartbeat'
    end
    alias is_heartbeat heartbeat?
    alias is_heartbeat_tuple heartbeat?

    # The tuple a bolt of a DRPC chain declared with finishBatch: true gets
    # when it has seen every tuple of a request: [request_id].
    def finish_batch?
      task == -1 && stream == '__finish_batch'
    end

    def to_s
      "#<Storm::Tuple id=#{id.inspect} component=#{component.inspect} stream=#{stream.inspect} " \
        "task=#{task.inspect} values=#{values.inspect}>"
    end
    alias inspect to_s
  end

  # A bolt: override process(tuple) and ack or fail every tuple.
  class Bolt
    include Storm::Protocol

    def prepare(conf, context); end

    def process(tuple); end

    # Called, in a DRPC chain declared with finishBatch: true, once every
    # tuple of the request has been processed (Storm's finishBatch); emits
    # are anchored for you.
    def finish_batch(request_id); end

    def run
      Storm::Protocol.mode = 'bolt'
      prepare(*handshake)
      loop { process_next }
    rescue StandardError, ScriptError => e
      Storm::Protocol.die(e, "Exception in bolt")
    end

    private

    # Reads and handles one input message.
    def process_next
      p = Storm::Protocol
      msg = read_command
      if msg['stream'] == '__heartbeat'
        p.writer.add(SYNC)
      elsif msg['stream'] == '__finish_batch' && msg['task'] == -1
        finish(Tuple.new(msg['id'], msg['comp'], msg['stream'], msg['task'], msg['tuple']))
      else
        handle(Tuple.new(msg['id'], msg['comp'], msg['stream'], msg['task'], msg['tuple']))
      end
      p.maybe_flush
    end

    def handle(tup)
      process(tup)
    end

    # Runs finish_batch with emits anchored to the finish tuple, then acks
    # it, or fails it if finish_batch raises.
    def finish(tup)
      p = Storm::Protocol
      p.anchor_tuple = tup
      begin
        finish_batch(tup.values[0])
      rescue StandardError, ScriptError => e
        p.writer.add('command' => 'fail', 'id' => tup.id)
        reportError("#{e.class}: #{e.message}\n#{Array(e.backtrace).join("\n")}")
      else
        p.writer.add('command' => 'ack', 'id' => tup.id)
      ensure
        p.anchor_tuple = nil
      end
    end
  end

  # A bolt whose emits are anchored to the input tuple, which is acked after
  # process returns, or failed (and the error reported) if it raises.
  class BasicBolt < Bolt
    private

    def handle(tup)
      Storm::Protocol.anchor_tuple = tup
      begin
        process(tup)
      rescue StandardError, ScriptError => e
        Storm::Protocol.writer.add('command' => 'fail', 'id' => tup.id)
        reportError("#{e.class}: #{e.message}\n#{Array(e.backtrace).join("\n")}")
      else
        Storm::Protocol.writer.add('command' => 'ack', 'id' => tup.id)
      ensure
        Storm::Protocol.anchor_tuple = nil
      end
    end
  end

  # One window of a WindowedBolt: tuples (oldest first), new (not in the
  # previous window), expired (in the previous window, not in this one),
  # start and end in milliseconds (start is nil for count windows).
  #
  # tuples is made on first use, during process_window: a bolt that keeps
  # running results from new and expired never pays for the whole window.
  class Window
    attr_reader :id, :new, :expired, :start, :end

    def initialize(id, held, added, expired, start, finish)
      @id = id
      @held = held
      @new = added
      @expired = expired
      @start = start
      @end = finish
    end

    def tuples
      @tuples ||= @held.values
    end
  end

  WINDOW_STREAM = '__window'

  # A bolt of a component declared `window:` in its topology: the host does
  # the windowing and calls process_window(window) every time a window
  # fires. Emits inside it are anchored to the whole window; the window is
  # acked when process_window returns, or failed (its tuples replayed, the
  # error reported) if it raises. Window tuples are acked by the host as
  # they leave every window: never ack them.
  class WindowedBolt
    include Storm::Protocol

    def prepare(conf, context); end

    def process_window(window); end

    def run
      Storm::Protocol.mode = 'bolt'
      conf, context = handshake
      open_state(context)
      prepare(conf, context)
      @held = {} # the window's tuples by id, in insertion order
      @pending = {} # tuples streamed ahead of their window, by id
      @started = false
      loop { process_next }
    rescue StandardError, ScriptError => e
      Storm::Protocol.die(e, "Exception in windowed bolt")
    end

    private

    def open_state(_context); end

    # A command from the host (a stateful windowed bolt's); true if handled.
    def handle_command(_msg)
      false
    end

    def process_next
      p = Storm::Protocol
      msg = read_command
      if msg['command'] && handle_command(msg)
        p.maybe_flush
        return
      end
      if msg['stream'] == '__heartbeat'
        p.writer.add(SYNC)
        p.maybe_flush
        return
      end
      unless msg['stream'] == WINDOW_STREAM
        raise "#{self.class.name} is a WindowedBolt, but its component declares no window: " \
              'add `window: {length: ..., sliding: ...}` to it in the topology'
      end
      handle_window(msg['id'], msg['tuple'][0])
      p.before_block
    end

    def handle_window(wid, w)
      p = Storm::Protocol
      w['forget']&.each { |i| @pending.delete(i) }
      if (add = w['add'])
        # Tuples ahead of their window, [comp, stream, task, ids, values]
        # per source: held until a window names them by id.
        add.each do |comp, stream, task, ids, values|
          ids.each_with_index { |i, k| @pending[i] = Tuple.new(i, comp, stream, task, values[k]) }
        end
        p.writer.add('command' => 'ack', 'id' => wid)
        return
      end
      if w['reset']
        @held.clear
      elsif !@started || w['expired'].any? { |i| !@held.key?(i) }
        # This child does not hold the window the host changes (it
        # restarted): failing it makes the host send the next one whole.
        p.writer.add('command' => 'fail', 'id' => wid)
        return
      end
      @started = true
      expired = w['expired'].map { |i| @held.delete(i) }
      added = w['new'].map do |t| # an id streamed before, or [id, comp, stream, task, values]
        tup = t.is_a?(String) ? @pending.delete(t) : inline(t)
        unless tup
          # Streamed to a child that died since: fail, as above.
          @started = false
          p.writer.add('command' => 'fail', 'id' => wid)
          return
        end
        @held[tup.id] = tup
      end
      if (old = w['old'])
        # Put back after a recovery: in the window, not new.
        old = old.to_h { |i| [i, true] }
        added = added.reject { |t| old.key?(t.id) }
      end
      window = Window.new(wid, @held, added, expired, w['start'], w['end'])
      p.anchor_tuple = Tuple.new(wid, '__system', WINDOW_STREAM, -1, [])
      begin
        process_window(window)
      rescue StandardError, ScriptError => e
        p.writer.add('command' => 'fail', 'id' => wid)
        reportError("#{e.class}: #{e.message}\n#{Array(e.backtrace).join("\n")}")
        @started = false # the host resends the window whole
      else
        p.writer.add('command' => 'ack', 'id' => wid)
      ensure
        p.anchor_tuple = nil
      end
    end

    # A window tuple the window message carries whole: a copy the host
    # streamed before it knew this child lost it, if any, is dropped.
    def inline(fields)
      tup = Tuple.new(*fields)
      @pending.delete(tup.id) unless @pending.empty?
      tup
    end
  end

  # A spout: next_tuple/nextTuple emits (or not), ack and fail get the ids of
  # reliable emits.
  class Spout
    include Storm::Protocol

    def open(conf, context); end

    def nextTuple; end # rubocop:disable Naming/MethodName

    def ack(id); end

    def fail(id); end

    def activate; end

    def deactivate; end

    def run
      Storm::Protocol.mode = 'spout'
      open(*handshake)
      loop do
        msg = read_command
        case msg['command']
        when 'next' then nextTuple
        when 'ack' then ack(msg['id'])
        when 'fail' then fail(msg['id'])
        when 'activate' then activate
        when 'deactivate' then deactivate
        end
        sync
      end
    rescue StandardError, ScriptError => e
      Storm::Protocol.die(e, "Exception in spout")
    end
  end
end

module Storm
  # The terminal squall run gives the process beside the protocol pipes
  # (descriptor SQUALL_TTY_FD); Storm's hosts never set it.
  module Terminal
    def self.fd
      Integer(ENV.fetch('SQUALL_TTY_FD', ''), exception: false)
    end

    # Runs the block with descriptors 0 and 1, and $stdout, on the
    # terminal, and restores them after: the protocol writes through its
    # own copy of the original descriptor 1 and reads descriptor 0 only
    # between tuples, so neither notices.
    def self.session
      tty = IO.new(fd, 'r+', autoclose: false)
      saved_in = STDIN.dup
      saved_out = STDOUT.dup
      saved_stdout = $stdout
      STDIN.reopen(tty)
      STDOUT.reopen(tty)
      $stdout = STDOUT
      yield
    ensure
      STDIN.reopen(saved_in)
      STDIN.binmode
      STDOUT.reopen(saved_out)
      $stdout = saved_stdout
      saved_in.close
      saved_out.close
    end
  end
end

if Storm::Terminal.fd
  # binding.irb opens on the terminal, reading lines as they are typed (the
  # user's own terminal edits and echoes them).
  class Binding
    def irb
      require 'irb'
      Storm::Terminal.session do
        IRB.setup(source_location[0], argv: [])
        IRB.conf[:USE_MULTILINE] = false
        IRB.conf[:USE_SINGLELINE] = false
        IRB.conf[:USE_COLORIZE] = false
        workspace = IRB::WorkSpace.new(self)
        STDOUT.print(workspace.code_around_binding)
        IRB::Irb.new(workspace, IRB::StdioInputMethod.new).run(IRB.conf)
      end
    end
  end
end

if Storm::Terminal.fd
  module Storm
    module Terminal
      # The debug gem's console (require 'debug'; debugger, binding.break)
      # reads and writes the terminal, in plain lines as they are typed,
      # instead of stdin and stdout, which are the protocol's.
      module DebugConsole
        def squall_tty
          @squall_tty ||= IO.new(Storm::Terminal.fd, 'r+', autoclose: false).tap { |io| io.sync = true }
        end

        def readline(prompt = '(rdbg)')
          setup_interrupt do
            squall_tty.print(prompt)
            (squall_tty.gets || 'quit').strip
          end
        end

        def ask(prompt)
          setup_interrupt do
            squall_tty.print(prompt)
            (squall_tty.gets || '').strip
          end
        end

        def puts(str = nil)
          case str
          when Array then str.each { |line| squall_tty.puts(line.chomp) }
          when String then str.each_line { |line| squall_tty.puts(line.chomp) }
          else squall_tty.puts
          end
        end

        def width
          squall_tty.winsize[1].then { |w| w.positive? ? w : 80 }
        rescue StandardError
          80
        end
      end

      # Puts DebugConsole before the debug gem's console class, now if it
      # is loaded, or when it is (the gem loads it when it starts).
      def self.hook_debug_gem
        name = 'DEBUGGER__::UI_LocalConsole'
        if defined?(DEBUGGER__::UI_LocalConsole)
          DEBUGGER__::UI_LocalConsole.prepend(DebugConsole)
          return
        end
        trace = TracePoint.new(:class) do |tp|
          next unless tp.self.is_a?(Class) && tp.self.name == name
          tp.self.prepend(DebugConsole)
          trace.disable
        end
        trace.enable
      end
    end
  end
  Storm::Terminal.hook_debug_gem
end

module Storm
  # User metrics: helpers on top of the multilang metrics command, with the
  # params shapes squall reads (docs/multilang.md, Metrics). A bad value
  # raises ArgumentError here, where the mistake is, instead of being
  # refused and counted by the host.
  #
  #   Storm::Metrics.counter('words-seen', 3)
  #   Storm::Metrics.gauge('queue-depth', q.size)
  #   Storm::Metrics.histogram('parse-ms', 0.42)   # or an array of values
  module Metrics
    module_function

    def counter(name, n = 1)
      check_name(name)
      raise ArgumentError, "counter #{name}: increment #{n.inspect} is not a whole number >= 0" unless n.is_a?(Integer) && n >= 0

      send_metric(name, 'type' => 'counter', 'value' => n)
    end

    def gauge(name, value)
      check_name(name)
      send_metric(name, 'type' => 'gauge', 'value' => finite('gauge', name, value))
    end

    def histogram(name, value)
      check_name(name)
      if value.is_a?(Array)
        raise ArgumentError, "histogram #{name}: #{value.size} values, want 1 to 1000" unless value.size.between?(1, 1000)

        value.each { |v| raise ArgumentError, "histogram #{name}: value #{v} is negative" if finite('histogram', name, v).negative? }
        send_metric(name, 'type' => 'histogram', 'values' => value)
        return
      end
      raise ArgumentError, "histogram #{name}: value #{value} is negative" if finite('histogram', name, value).negative?

      send_metric(name, 'type' => 'histogram', 'value' => value)
    end

    def check_name(name)
      raise ArgumentError, "metric name #{name.inspect}: want a non-empty string" unless name.is_a?(String) && !name.empty?
    end

    def finite(kind, name, value)
      raise ArgumentError, "#{kind} #{name}: value #{value.inspect} is not a finite number" unless value.is_a?(Numeric) && value.real? && value.finite?

      value
    end

    def send_metric(name, params)
      Storm::Protocol.send_msg_to_parent('command' => 'metrics', 'name' => name, 'params' => params)
    end
  end
end

# squall's state extension (docs/multilang.md, "Stateful bolts"): the task's
# key-value state lives in the host, which checkpoints it; the child reads
# it with state_get and state_items, writes it with state_put and
# state_delete, and empties its cache on state_reset.
module Storm
  STATE_REPLIES = %w[state_values state_items].freeze

  # A state_get or state_items sent to the host: the replies it got so far
  # (parts), whether the last one came (done), whether no one wants them
  # any more (abandoned: an iteration left early).
  class StateRequest
    attr_reader :reply, :parts
    attr_accessor :done, :abandoned

    def initialize(reply)
      @reply = reply
      @parts = []
      @done = false
      @abandoned = false
    end
  end

  module Protocol
    class << self
      # State requests waiting for their reply, oldest first.
      attr_accessor :state_requests
    end
    self.state_requests = []

    # Sends a state command whose reply is named reply; returns its request.
    def self.state_send(msg, reply)
      req = StateRequest.new(reply)
      writer.add(msg)
      state_requests.push(req)
      req
    end

    # Hands a state reply to the oldest request: the host answers in order.
    def self.route_state_reply(msg)
      req = state_requests.first
      raise "the host sent #{msg['command']}, but no state command waits for a reply" if req.nil?

      command = msg['command']
      unless command == req.reply
        raise "the host sent #{command} in reply to #{req.reply == 'state_values' ? 'state_get' : 'state_items'}"
      end

      req.parts.push(msg) unless req.abandoned
      return if msg['more'] # a long reply comes in parts, the last without "more"

      req.done = true
      state_requests.shift
    end

    # Reads from the host until req has a reply it has not consumed (or is
    # done), keeping the tuples, commands and task ids that come meanwhile.
    def self.await_state(req)
      while req.parts.empty? && !req.done
        msg = reader.read
        if msg.is_a?(Array)
          pending_taskids.push(msg)
        elsif STATE_REPLIES.include?(msg['command'])
          route_state_reply(msg)
        else
          pending_commands.push(msg)
        end
      end
    end
  end

  # A stateful bolt's key-value state, held by the host; Hash-like:
  # state[k], state.fetch(k, default), key?, state[k] = v, delete(k), each,
  # keys, values, to_h, size, prefetch(*keys).
  #
  # Keys are Strings (or Symbols, sent as Strings), Integers, Floats, true
  # or false; values anything JSON (or MessagePack) carries. Reads are
  # cached, up to max_keys values (least recently used beyond): a hit costs
  # no round trip to the host. Writes go to the host with the next flush
  # of the bolt's output, before the ack of the tuple that made them; with
  # JSON, the writes between two flushes go as one message holding each
  # key's last value. Values are copied in and out:
  # change a Hash, Array or String you read and assign it again to store it.
  # delete never reads: it returns nil. Iteration streams the whole state
  # from the host (not cached); iterate while handling one tuple.
  class State
    include Enumerable

    ABSENT = Object.new.freeze # cached: the key is not in the state

    attr_reader :max_keys, :round_trips

    def initialize(max_keys = 100_000)
      @cache = {} # cache key => value or ABSENT, least recently used first
      @puts = nil # the writes not written yet (see coalesce)
      @dels = {}
      @max_keys = [Integer(max_keys), 1].max
      @round_trips = 0 # requests that waited for the host's reply
    end

    def [](key)
      v = lookup(key)
      v.equal?(ABSENT) ? nil : State.copy(v)
    end

    def fetch(key, *default)
      v = lookup(key)
      return State.copy(v) unless v.equal?(ABSENT)
      return yield(key) if block_given?
      return default[0] unless default.empty?

      raise KeyError.new("key not found: #{key.inspect}", receiver: self, key: key)
    end

    def key?(key)
      !lookup(key).equal?(ABSENT)
    end
    alias include? key?
    alias has_key? key?
    alias member? key?

    def []=(key, value)
      ck = State.cache_key(key)
      w = Storm::Protocol.writer
      if w.is_a?(JsonWriter)
        # Encoded now, so that a value JSON cannot carry raises here.
        coalesce(w, ck, JSON.generate([wire(key), value]), nil)
      else
        w.add('command' => 'state_put', 'items' => [[wire(key), value]])
      end
      remember(ck, State.copy(value))
    end
    alias store []=

    # Writes every pair of hash (in one state_put).
    def update(hash)
      return self if hash.empty?

      w = Storm::Protocol.writer
      if w.is_a?(JsonWriter)
        hash.each { |k, v| self[k] = v }
        return self
      end
      cks = hash.keys.map { |k| State.cache_key(k) }
      w.add('command' => 'state_put', 'items' => hash.map { |k, v| [wire(k), v] })
      cks.zip(hash.values).each { |ck, v| remember(ck, State.copy(v)) }
      self
    end
    alias merge! update

    def delete(key)
      ck = State.cache_key(key)
      w = Storm::Protocol.writer
      if w.is_a?(JsonWriter)
        coalesce(w, ck, nil, JSON.generate(wire(key)))
      else
        w.add('command' => 'state_delete', 'keys' => [wire(key)])
      end
      remember(ck, ABSENT)
      nil
    end

    # Reads the keys not cached yet in one round trip, so that the reads
    # that follow are hits (as long as the cache holds them).
    def prefetch(*keys)
      want = {}
      keys.flatten.each do |k|
        ck = State.cache_key(k)
        want[ck] = wire(k) unless @cache.key?(ck) || want.key?(ck)
      end
      fetch_keys(want) unless want.empty?
      self
    end

    # Yields every [key, value] of the state, streamed from the host in its
    # order.
    def each
      return enum_for(:each) unless block_given?

      p = Storm::Protocol
      req = p.state_send({ 'command' => 'state_items' }, 'state_items')
      @round_trips += 1
      begin
        loop do
          p.await_state(req)
          break if req.parts.empty?

          (req.parts.shift['items'] || []).each { |k, v| yield k, v }
        end
      ensure
        req.abandoned = true
        req.parts.clear
      end
      self
    end
    alias each_pair each

    def keys
      map { |k, _| k }
    end

    def values
      map { |_, v| v }
    end

    def size
      count
    end
    alias length size

    def to_h
      h = {}
      each { |k, v| h[k] = v }
      h
    end

    # Empties the cache (the host rolled the state back).
    def reset
      @cache.clear
    end

    def inspect
      "#<Storm::State #{@cache.size} cached of at most #{@max_keys}>"
    end
    alias to_s inspect

    # The cache's key for a state key: the host tells keys apart by their
    # JSON text, so 1 and 1.0 are one key, :a and 'a' one.
    def self.cache_key(key)
      case key
      when String
        raise ArgumentError, "state key #{key[0, 60].inspect}: keys starting with a 0 byte are reserved for squall" if key.start_with?("\0")

        key
      when Symbol then cache_key(key.to_s)
      when Integer, true, false then key
      when Float
        raise ArgumentError, "state key #{key}: not a JSON number" unless key.finite?

        key == key.to_i ? key.to_i : key
      else
        raise TypeError, "state keys are Strings, Symbols, Integers, Floats, true or false (JSON strings, " \
                         "numbers or booleans), not #{key.class}: #{key.inspect}"
      end
    end

    # A copy of value that shares no Hash, Array or String with it: what
    # the bolt gets from the cache or gave it cannot change behind the
    # host's back.
    def self.copy(value)
      case value
      when Hash then value.to_h { |k, v| [copy(k), copy(v)] }
      when Array then value.map { |v| copy(v) }
      when String then value.frozen? ? value : value.dup
      else value
      end
    end

    private

    # With JSON, the writes made between two flushes go out as one
    # state_put (and one state_delete) with each key's last value, at the
    # place of the first of them among the messages: ahead of the ack of
    # every tuple that made one, and of any read sent later. A message per
    # write cost the host one each. @puts maps the cache key of each key
    # put since to the JSON of its [key, value] item, @dels that of each
    # key deleted to its key's JSON; @puts is nil when nothing waits.
    # The write is recorded before the place is reserved or grown, as
    # either may flush, which takes what is recorded.
    def coalesce(w, ck, item, deleted)
      first = @puts.nil?
      @puts = {} if first
      if item
        @dels.delete(ck)
        @puts[ck] = item
      else
        @puts.delete(ck)
        @dels[ck] = deleted
      end
      size = (item || deleted).bytesize
      if first
        w.reserve(method(:writes), size + 40)
      else
        w.grow(size + 1)
      end
    end

    # The encoding of the writes waiting (Writer#reserve's fill).
    def writes
      puts = @puts
      dels = @dels
      @puts = nil
      @dels = {}
      text = +''
      text << '{"command":"state_put","items":[' << puts.values.join(',') << "]}\nend\n" unless puts.empty?
      text << '{"command":"state_delete","keys":[' << dels.values.join(',') << "]}\nend\n" unless dels.empty?
      text
    end

    def wire(key)
      key.is_a?(Symbol) ? key.to_s : key
    end

    def lookup(key)
      ck = State.cache_key(key)
      if @cache.key?(ck)
        v = @cache.delete(ck) # reinserted: most recently used
        @cache[ck] = v
        return v
      end
      fetch_keys(ck => wire(key))
      @cache.fetch(ck, ABSENT)
    end

    def fetch_keys(want)
      p = Storm::Protocol
      req = p.state_send({ 'command' => 'state_get', 'keys' => want.values }, 'state_values')
      @round_trips += 1
      found = {}
      loop do # the reply's parts, the last without "more"
        p.await_state(req)
        part = req.parts.shift
        break if part.nil?

        (part['items'] || []).each { |k, v| found[State.cache_key(k)] = v }
        break unless part['more']
      end
      want.each_key { |ck| remember(ck, found.fetch(ck, ABSENT)) }
    end

    def remember(ck, value)
      @cache.delete(ck)
      @cache[ck] = value
      @cache.shift if @cache.size > @max_keys
    end
  end

  # A BasicBolt of a component declared `state:` in its topology, with
  # state, its task's key-value state (a Storm::State), which the host
  # keeps and checkpoints: after a crash the bolt finds what the last
  # checkpoint committed, and the tuples since are replayed. The bolt never
  # sees a checkpoint. state is ready in prepare.
  #
  #   class WordCount < Storm::StatefulBolt
  #     def process(tup)
  #       word = tup.values[0]
  #       state[word] = state.fetch(word, 0) + 1
  #       emit([word, state[word]])
  #     end
  #   end
  #
  # on_state_reset is called when the host rolled the state back (the
  # cache is already empty): drop anything derived from the state there.
  class StatefulBolt < BasicBolt
    attr_reader :state

    def on_state_reset; end

    def run
      Storm::Protocol.mode = 'bolt'
      conf, context = handshake
      squall = context.is_a?(Hash) ? context['squall'] : nil
      spec = squall.is_a?(Hash) ? squall['state'] : nil
      unless spec.is_a?(Hash)
        raise "#{self.class.name} is a StatefulBolt, but its component declares no state (the handshake " \
              'has no squall.state): add `state: {}` to it in the topology'
      end

      Storm::Protocol.state_requests.clear
      @state = State.new(spec['cache_max_keys'] || 100_000)
      prepare(conf, context)
      loop { process_next }
    rescue StandardError, ScriptError => e
      Storm::Protocol.die(e, "Exception in stateful bolt")
    end

    private

    def process_next
      p = Storm::Protocol
      msg = read_command
      command = msg['command']
      if command.nil?
        if msg['stream'] == '__heartbeat'
          p.writer.add(SYNC)
        elsif msg['stream'] == '__finish_batch' && msg['task'] == -1
          finish(Tuple.new(msg['id'], msg['comp'], msg['stream'], msg['task'], msg['tuple']))
        else
          handle(Tuple.new(msg['id'], msg['comp'], msg['stream'], msg['task'], msg['tuple']))
        end
      elsif command == 'state_reset'
        @state.reset
        on_state_reset
      elsif STATE_REPLIES.include?(command)
        p.route_state_reply(msg) # the rest of an iteration left early
      end
      p.maybe_flush
    end
  end

  # Storm's IStatefulWindowedBolt: a WindowedBolt of a component declared
  # both `window:` and `state:`, with state as in StatefulBolt (ready in
  # prepare). What process_window writes is checkpointed with the window's
  # tuples: they are acked once they left every window and a checkpoint
  # then committed; after a crash or a rollback the state is the last
  # commit's and the windows are rebuilt from the spouts' replays (at least
  # once: a window may be processed again). on_state_reset is called after
  # a rollback.
  class StatefulWindowedBolt < WindowedBolt
    attr_reader :state

    def on_state_reset; end

    private

    def open_state(context)
      squall = context.is_a?(Hash) ? context['squall'] : nil
      spec = squall.is_a?(Hash) ? squall['state'] : nil
      unless spec.is_a?(Hash)
        raise "#{self.class.name} is a StatefulWindowedBolt, but its component declares no state (the " \
              'handshake has no squall.state): add `state: {}` to it in the topology'
      end

      Storm::Protocol.state_requests.clear
      @state = State.new(spec['cache_max_keys'] || 100_000)
    end

    def handle_command(msg)
      command = msg['command']
      if command == 'state_reset'
        @state.reset
        on_state_reset
      elsif STATE_REPLIES.include?(command)
        Storm::Protocol.route_state_reply(msg)
      end
      true
    end
  end
end
