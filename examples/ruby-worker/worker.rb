#!/usr/bin/env ruby
# frozen_string_literal: true

# An Omnistream consumer-group worker using only Ruby's standard library: it pulls a page of
# messages, processes each one, then commits the page's cursor, and repeats. What it does not
# commit (because it crashed or was stopped mid-page) is delivered again: at least once.
#
#   OMNISTREAM_URL=http://localhost:8080 \
#   OMNISTREAM_CONNECTION_STRING='HostName=localhost;SharedAccessKeyName=service;SharedAccessKey=…' \
#   ruby worker.rb --group recommendations [--reader NAME] [--page-size 100] [--wait-ms 20000]
#                  [--max-messages N] [--idle-exit SECONDS] [--start-from earliest|latest|ISO-TIME]
#
# Each processed message is printed to stdout as one JSON line; logs go to stderr.

require 'json'
require 'net/http'
require 'openssl'
require 'optparse'
require 'socket'
require 'uri'

# Signs SharedAccessSignature tokens from a connection string, as IoT Hub defines them.
class SasToken
  TTL_SECONDS = 3600

  def initialize(connection_string)
    fields = connection_string.split(';').to_h { |part| part.split('=', 2) }
    @host = fields.fetch('HostName')
    @key_name = fields.fetch('SharedAccessKeyName')
    @key = fields.fetch('SharedAccessKey').unpack1('m')
    @expiry = 0
  end

  # A token valid for at least five more minutes, renewed when it is not.
  def to_s
    now = Time.now.to_i
    if @expiry - now < 300
      @expiry = now + TTL_SECONDS
      resource = encode(@host)
      signature = [OpenSSL::HMAC.digest('sha256', @key, "#{resource}\n#{@expiry}")].pack('m0')
      @token = "SharedAccessSignature sr=#{resource}&sig=#{encode(signature)}&se=#{@expiry}&skn=#{encode(@key_name)}"
    end
    @token
  end

  private

  def encode(text)
    URI.encode_www_form_component(text).gsub('+', '%20')
  end
end

# The consumer-group API over one keep-alive connection.
class FeedClient
  class Error < StandardError; end

  def initialize(url, token, group)
    @uri = URI(url)
    @token = token
    @group_path = "/api/consumergroups/#{URI.encode_www_form_component(group)}"
  end

  def ensure_group(start_from)
    body = start_from ? JSON.generate(startFrom: start_from) : nil
    request(Net::HTTP::Put.new(@group_path), body, [200, 201])
  end

  def pull(reader:, max:, wait_ms:)
    query = URI.encode_www_form(reader: reader, max: max, wait_ms: wait_ms)
    JSON.parse(request(Net::HTTP::Get.new("#{@group_path}/messages?#{query}"), nil, [200], read_timeout: wait_ms / 1000.0 + 30))
  end

  def checkpoint(cursor)
    request(Net::HTTP::Post.new("#{@group_path}/checkpoint"), JSON.generate(cursor: cursor), [204])
  end

  # Hands this reader's partitions to the group's other readers now, rather than after its lease
  # lapses (404: it held none).
  def leave(reader)
    request(Net::HTTP::Delete.new("#{@group_path}/readers/#{URI.encode_www_form_component(reader)}"), nil, [204, 404])
  end

  private

  def http
    @http ||= Net::HTTP.start(@uri.host, @uri.port, use_ssl: @uri.scheme == 'https')
  end

  def request(req, body, ok, read_timeout: 60)
    req['Authorization'] = @token.to_s
    if body
      req['Content-Type'] = 'application/json'
      req.body = body
    end
    http.read_timeout = read_timeout
    res = http.request(req)
    raise Error, "#{req.method} #{req.path}: #{res.code} #{res.body}" unless ok.include?(res.code.to_i)

    res.body
  rescue IOError, SystemCallError, Net::OpenTimeout, Net::ReadTimeout => e
    @http = nil # a broken connection is reopened on the next request
    raise Error, "#{req.method} #{req.path}: #{e.class}: #{e.message}"
  end
end

# Where the work happens. Here: the fields a recommendation model is fed, one JSON line each.
def handle(message)
  body = message['bodyEncoding'] == 'base64' ? message['body'].unpack1('m') : message['body']
  record = {
    partition: message['partition'], sequenceNumber: message['sequenceNumber'], deviceId: message['deviceId'],
    messageId: message['messageId'], properties: message['properties'],
    # Binary bodies arrive base64-encoded; decoded here, and re-encoded only to print them.
    body: body.is_a?(String) && message['bodyEncoding'] == 'base64' ? { base64: [body].pack('m0') } : body
  }
  $stdout.puts(JSON.generate(record))
end

options = { group: '$Default', reader: "#{Socket.gethostname}-#{Process.pid}", page_size: 100, wait_ms: 20_000 }
OptionParser.new do |o|
  o.on('--group NAME') { |v| options[:group] = v }
  o.on('--reader NAME', 'this worker\'s name; workers of one group split its partitions') { |v| options[:reader] = v }
  o.on('--page-size N', Integer) { |v| options[:page_size] = v }
  o.on('--wait-ms N', Integer, 'long-poll time when there is nothing to read (0-30000)') { |v| options[:wait_ms] = v }
  o.on('--max-messages N', Integer, 'stop after processing N messages') { |v| options[:max_messages] = v }
  o.on('--idle-exit SECONDS', Float, 'stop after this long without messages') { |v| options[:idle_exit] = v }
  o.on('--start-from POSITION', 'create or reposition the group: earliest, latest or an ISO time') { |v| options[:start_from] = v }
end.parse!

$stdout.sync = true
client = FeedClient.new(ENV.fetch('OMNISTREAM_URL', 'http://localhost:8080'), SasToken.new(ENV.fetch('OMNISTREAM_CONNECTION_STRING')), options[:group])
stopping = false
%w[INT TERM].each { |sig| trap(sig) { stopping = true } }

client.ensure_group(options[:start_from])
processed = 0
last_message_at = Time.now
backoff = 1
until stopping
  remaining = options[:max_messages] && options[:max_messages] - processed
  break if remaining && remaining <= 0

  wait_ms = options[:wait_ms]
  if options[:idle_exit]
    idle_left = options[:idle_exit] - (Time.now - last_message_at)
    break if idle_left <= 0

    wait_ms = [wait_ms, (idle_left * 1000).ceil].min
  end
  begin
    page = client.pull(reader: options[:reader], max: [options[:page_size], remaining].compact.min, wait_ms: wait_ms)
    page['messages'].each { |m| handle(m) }
    client.checkpoint(page['cursor']) unless page['messages'].empty?
    backoff = 1
  rescue FeedClient::Error => e
    warn "omnistream worker: #{e.message}; retrying in #{backoff}s"
    sleep backoff
    backoff = [backoff * 2, 30].min
    next
  end
  next if page['messages'].empty?

  processed += page['messages'].size
  last_message_at = Time.now
end
begin
  client.leave(options[:reader])
rescue FeedClient::Error => e
  warn "omnistream worker: could not leave the group (its lease lapses by itself): #{e.message}"
end
warn "omnistream worker: processed #{processed} messages"
