# frozen_string_literal: true

# Preloaded into every Ruby child (RUBYOPT=-r) by squall. Scripts written
# for Apache Storm load its adapter from beside them, require "./storm" or
# require_relative "storm", because a Storm jar holds storm.rb there. When
# no such file exists, that one load gets squall's adapter instead; every
# other load, and this one when the file exists, is Ruby's own.
module SquallStormBeside
  ADAPTER = File.expand_path('../ruby/storm.rb', __dir__)
  REQUIRES = ['./storm', './storm.rb'].freeze
  RELATIVES = ['storm', 'storm.rb', './storm', './storm.rb'].freeze

  private

  def require(path)
    super
  rescue LoadError => e
    raise SquallStormBeside.hidden(e) unless REQUIRES.include?(path) && e.path == path

    super(ADAPTER)
  rescue Exception => e # rubocop:disable Lint/RescueException
    raise SquallStormBeside.hidden(e)
  end

  # Ruby's require_relative resolves against its caller's file, which from
  # here would be this one, so it is done as Ruby does it: require of the
  # path made absolute against the caller's real directory.
  def require_relative(path)
    caller_file = caller_locations(1, 1).first
    base = caller_file&.absolute_path
    raise LoadError, 'cannot infer basepath' if base.nil?

    absolute = File.absolute_path(path, File.dirname(base))
    begin
      require(absolute)
    rescue LoadError => e
      raise SquallStormBeside.hidden(e) unless RELATIVES.include?(path) && e.path == absolute

      require(ADAPTER)
    end
  rescue Exception => e # rubocop:disable Lint/RescueException
    raise SquallStormBeside.hidden(e)
  end

  # hidden drops this file's frames from an error's backtrace, which is
  # then the one Ruby reports without the hook.
  def self.hidden(error)
    trace = error.backtrace
    error.set_backtrace(trace.reject { |frame| frame.start_with?("#{__FILE__}:") }) if trace
    error
  end
end

Kernel.prepend(SquallStormBeside)
